"""Seconds-long smoke run of the distributed experiment (tests)."""

from experiments.distributed.configs import default


def get_config():
    c = default.get_config()
    c.agents = 4  # a ring of 4 and a 2 x 2 torus: the same claims; 8 took twice as long
    c.consensus.rows = 12
    c.consensus.rank = 2
    c.consensus.columns_per_agent = 4
    c.consensus.step = 5e-3
    c.consensus.iterations = 1500
    c.consensus.record_every = 100
    c.consensus.dgd_iterations = 2000
    c.sketch.d = 8
    c.sketch.columns = 64
    c.sketch.ranks = (1, 2)
    c.sketch.sizes = (1, 4)
    c.sketch.trials = 2
    c.sketch.stages = 4
    c.sketch.maxiter = 200
    return c
