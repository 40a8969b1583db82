"""Default config: CAVE 'chart and stuffed toy' (150 x 150 x 31), sigma 10/30/50 (2-core CPU)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.image = "chart_and_stuffed_toy"
    config.crop = 0  # 0 keeps the whole image; k > 0 keeps the top-left k x k pixels
    config.dtype = "float32"
    config.seed = 0
    config.sigmas = (10, 30, 50)  # on the 0-255 scale
    config.methods = (
        "bandwise_svt",
        "tucker",
        "trpca",
        "nonlocal_nohl",
        "nonlocal",
        "nonlocal_subspace",
    )
    config.tucker_maxiter = 10
    config.trpca_maxiter = 60
    config.trpca_rho = 1.2
    # non-local low-rank tensor recovery
    config.nl_patch = 6
    config.nl_stride = 4
    config.nl_window = 8
    config.nl_k = 30
    config.nl_iters = 4
    config.nl_delta = 0.1
    config.nl_gamma = 0.7
    config.nl_c = 2.0 * 2**0.5
    # hyper-Laplacian spectral prior: beta = hl_weight * sigma_t^2, exponent hl_p
    config.hl_weight = 1.0
    config.hl_p = 0.8
    # nonlocal_subspace applies the prior once, at the residual noise hl_residual * sigma
    config.hl_residual = 0.3
    # figures
    config.figure_sigma = 30
    config.figure_band = 20
    return config
