"""Wen et al.: force-regularized training, then the decompositions of the plain baseline's rows."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.rows = ("baseline", "tai", "force")
    return config
