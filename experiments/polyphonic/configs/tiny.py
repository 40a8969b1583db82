"""A seconds-long smoke run: tiny TT-GRU, two epochs on the first sequences of JSB Chorales."""

from experiments.polyphonic.configs import default


def get_config():
    c = default.get_config()
    c.cell.rank = (1, 2, 2, 1)
    c.cell.in_modes = (2, 2, 2)
    c.cell.hidden_modes = (4, 2, 2)
    c.embed = 8
    c.hidden = 16
    c.max_epochs = 2
    c.limit_sequences = 12  # per split
    c.max_length = 40  # crop sequences (tests only)
    c.min_bucket = 40  # one padded length: one compiled training step
    c.checkpoint_every_steps = 2
    c.progress = False
    c.ema_decay = 0.0  # two steps per epoch: score the trained parameters themselves
    return c
