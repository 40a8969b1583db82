"""Smoke-test config: one small collection, one (k, m), a few steps."""

from experiments.learned_sketch.configs import default


def get_config():
    config = default.get_config()
    config.datasets = ("hall",)
    config.ranks = (4,)
    config.sketch_sizes = (8,)
    config.steps = 5
    config.frame_step = 5
    config.curve_rank = 4
    config.curve_sketch = 8
    return config
