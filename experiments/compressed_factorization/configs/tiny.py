"""Smoke-test config: a small planted grid, no real data."""

from experiments.compressed_factorization.configs import default


def get_config():
    config = default.get_config()
    config.planted_d = 60
    config.planted_n = 30
    config.planted_rank = 3
    config.densities = (0.05,)
    config.ratios = (2,)
    config.real = ()
    config.maxiter = 100
    config.recovery_iters = 200
    return config
