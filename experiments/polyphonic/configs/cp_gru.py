"""CP-GRU, rank 110 (11,656 cell parameters)."""

from experiments.polyphonic.configs import default


def get_config():
    c = default.get_config()
    c.cell.kind = "cp"
    c.cell.rank = 110
    return c
