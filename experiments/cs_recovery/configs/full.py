"""Full config for accelerators: rates 0.02-0.10, all group priors, a denser patch grid."""

from experiments.cs_recovery.configs import default


def get_config():
    config = default.get_config()
    config.rates = (0.02, 0.04, 0.06, 0.08, 0.1)
    config.methods = ("min_norm", "dct_ista", "nlr_svt", "nlr_tucker", "nlr_cp")
    config.nl_stride = 3
    config.nl_window = 10
    config.nl_k = 40
    config.nl_iters = 80
    config.nl_sigma_end = 2.0
    return config
