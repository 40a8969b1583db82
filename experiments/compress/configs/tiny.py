"""A seconds-long config for the smoke test."""

from experiments.compress.configs import default


def get_config():
    config = default.get_config()
    config.crop = 24
    config.cp_ranks = (2, 4)
    config.cp_maxiter = 20
    config.tucker_ranks = ((4, 4, 2), (8, 8, 3))
    config.tucker_maxiter = 5
    config.tt_ranks = ((4, 2), (8, 3))
    return config
