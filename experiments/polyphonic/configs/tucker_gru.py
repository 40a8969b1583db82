"""Tucker-GRU, core ranks 2,3,3,4 (12,184 cell parameters)."""

from experiments.polyphonic.configs import default


def get_config():
    c = default.get_config()
    c.cell.kind = "tucker"
    c.cell.rank = (2, 3, 3, 4)
    c.learning_rate = 8e-3  # tuned on JSB validation NLL, 1 seed (docs/results/polyphonic.md)
    return c
