"""Full config: every remaining image of every subject as a test image (about 1200)."""

from experiments.faces.configs import default


def get_config():
    config = default.get_config()
    config.n_test = 64
    config.maxiter = 400
    config.rounds = 3
    return config
