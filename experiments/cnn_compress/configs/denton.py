"""Denton / Lebedev / Kim: post-hoc CP, Tucker-2 and bicluster decompositions of the baseline."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.rows = ("baseline", "cp", "tucker", "bicluster")
    return config
