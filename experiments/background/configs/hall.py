"""I2R Hall: 50 frames of 144 x 176, scored on its one labelled frame."""

from experiments.background.configs import default


def get_config():
    config = default.get_config()
    config.dataset = "hall"
    return config
