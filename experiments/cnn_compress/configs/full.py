"""The default rows with twice the training and more ranks (not run for the docs)."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.epochs = 40
    config.finetune_epochs = 8
    config.tai_fractions = (0.5, 0.4, 0.33, 0.25, 0.2, 0.15)
    config.cp_fractions = (0.5, 0.33, 0.2)
    config.tucker_fractions = (0.5, 0.33, 0.25, 0.2)
    config.bicluster = ((2, 2, 0.5), (2, 2, 0.33), (4, 2, 0.33))
    config.lrdkt.fraction = 0.15
    return config
