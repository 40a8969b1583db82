"""Default config: the eight Set11 images of the published table at rates 0.04 and 0.10
(2-core CPU; ``full.py`` runs all five rates 0.02-0.10 and the CP prior)."""

import ml_collections

from experiments.cs_recovery.main import TABLE_IMAGES


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.images = TABLE_IMAGES
    config.crop = 0  # 0 keeps the whole 256 x 256 image
    config.rates = (0.04, 0.1)
    config.methods = ("min_norm", "dct_ista", "nlr_svt", "nlr_tucker")
    config.block = 32
    config.dtype = "float32"
    config.seed = 0
    # DCT soft thresholding (also the start of the non-local methods)
    config.dct_iters = 200
    config.dct_tau_start = 20.0  # orthonormal DCT of the [0, 1] image
    config.dct_tau_end = 0.05
    # non-local group prior; assumed noise decreases geometrically (0-255 scale)
    config.nl_patch = 6
    config.nl_stride = 4
    config.nl_window = 8
    config.nl_k = 30
    config.nl_iters = 40
    config.nl_sigma_start = 60.0
    config.nl_sigma_end = 5.0
    config.cp_rank = 4
    # figure
    config.figure_image = "monarch"
    config.figure_rate = 0.1
    return config
