"""Lin et al.: the most aggressive decomposition fine-tuned with and without knowledge transfer."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.rows = ("baseline", "lrdkt")
    return config
