"""Default config: CDnet 2014 highway, 100 frames (every 3rd of 470-769) at half resolution
(120 x 160), on a 2-core CPU in a few minutes."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # "highway", "hall" (I2R, 50 frames, one labelled frame), or the path of your video: a
    # folder of frames or a .npy stack (T, H, W); `truth`: its ground-truth masks (optional)
    config.dataset = "highway"
    config.truth = ""
    config.n_frames = 100
    config.step = 3
    config.downsample = 2
    config.dtype = "float32"
    config.methods = ("rpca", "trpca", "lrsi", "tlisd")
    config.maxiter = 100
    config.tol = 1e-6
    config.trpca_rho = 1.2
    config.threshold = 0.1  # foreground = |S| > threshold (gray levels in [0, 1])
    # low rank + sparse + illumination
    config.illum_order = 3  # 3 x 3 low-frequency DCT fields per frame
    config.prior_blur = 3.0
    config.prior_alpha = 0.5
    # TLISD (intensity + ratio-image tensor; prior_blur and prior_alpha as above)
    config.tlisd_lam_illum = 1.0  # weight of the squared k-support norm of the illumination
    config.tlisd_k_fraction = 0.1  # k = this fraction of the pixels
    return config
