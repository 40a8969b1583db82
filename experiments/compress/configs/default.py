"""Default config: compress the CAVE 'chart and stuffed toy' image (150x150x31)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.image = "chart_and_stuffed_toy"
    config.crop = 0  # 0 keeps the whole image; k > 0 keeps the top-left k x k pixels
    config.dtype = "float32"
    config.seed = 0
    config.cp_ranks = (5, 10, 20, 40, 80)
    config.cp_maxiter = 200
    config.tucker_ranks = ((8, 8, 3), (16, 16, 4), (24, 24, 6), (40, 40, 8), (64, 64, 10))
    config.tucker_maxiter = 20
    config.tt_ranks = ((8, 3), (16, 5), (32, 6), (48, 8), (80, 10))
    config.tol = 1e-6
    return config
