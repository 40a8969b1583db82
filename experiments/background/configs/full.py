"""Full-size config for accelerators: all 300 shipped highway frames at 240 x 320."""

from experiments.background.configs import default


def get_config():
    config = default.get_config()
    config.n_frames = 300
    config.step = 1
    config.downsample = 1
    config.maxiter = 300
    return config
