"""Full-size config for accelerators: the whole CAVE 'cloth' scene (256 x 256 x 31), denser
patch grid and more iterations."""

from experiments.msi_denoise.configs import default


def get_config():
    config = default.get_config()
    config.image = "cloth"
    config.nl_stride = 3
    config.nl_window = 10
    config.nl_k = 40
    config.nl_iters = 6
    config.trpca_maxiter = 300
    return config
