"""A seconds-long config for the smoke test."""

from experiments.msi_denoise.configs import default


def get_config():
    config = default.get_config()
    config.crop = 24
    config.sigmas = (30,)
    config.tucker_maxiter = 3
    config.trpca_maxiter = 5
    config.nl_window = 3
    config.nl_k = 8
    config.nl_iters = 2
    return config
