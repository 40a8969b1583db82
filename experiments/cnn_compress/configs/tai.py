"""Tai et al.: the low-rank network trained from scratch and the closed-form decomposition of
the baseline, with and without fine-tuning."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.rows = ("baseline", "tai_scratch", "tai")
    return config
