"""Default config: the three shipped collections, k in (10, 20, 30), m in (20, 40) (2-core CPU,
a few minutes)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.datasets = ("msi", "highway", "hall")
    config.ranks = (10, 20, 30)
    config.sketch_sizes = (20, 40)
    config.steps = 300
    config.learning_rate = 0.1  # Adam, as the paper
    config.batch_size = 0  # 0: every training matrix in every step
    config.frame_step = 5  # highway: every 5th frame of the shipped window (hall: all 50)
    config.seed = 0
    config.dtype = "float32"
    config.curve_rank = 10  # the learning-curve figure
    config.curve_sketch = 20
    return config
