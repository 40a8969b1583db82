"""A seconds-long config for the smoke test."""

from experiments.faces.configs import default


def get_config():
    config = default.get_config()
    config.n_train = 8
    config.n_test = 1
    config.corruptions = (("pixel", 0.2), ("block", 0.4))
    config.maxiter = 10
    config.rounds = 1
    return config
