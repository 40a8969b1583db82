"""TT-GRU, TT-ranks 1,9,9,9,1 (8,448 cell parameters): the default config."""

from experiments.polyphonic.configs import default


def get_config():
    return default.get_config()
