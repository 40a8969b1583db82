"""A seconds-long config for the smoke test."""

from experiments.cs_recovery.configs import default


def get_config():
    config = default.get_config()
    config.images = ("monarch",)
    config.crop = 64
    config.rates = (0.1,)
    config.methods = ("min_norm", "dct_ista", "nlr_svt", "nlr_tucker", "nlr_cp")
    config.dct_iters = 5
    config.nl_window = 3
    config.nl_k = 8
    config.nl_iters = 2
    return config
