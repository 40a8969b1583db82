"""A seconds-long config for the smoke test."""

from experiments.background.configs import default


def get_config():
    config = default.get_config()
    config.n_frames = 8
    config.step = 30
    config.downsample = 8
    config.maxiter = 5
    return config
