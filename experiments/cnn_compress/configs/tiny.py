"""A smoke-test config: 3 subjects, tiny widths, one step per epoch, the rows that train (the
CP, Tucker-2 and bicluster policies are tested without training)."""

from experiments.cnn_compress.configs import default


def get_config():
    config = default.get_config()
    config.classes = 3
    config.widths = (4, 8, 8)
    config.batch_size = 16
    config.epochs = 1
    config.steps_per_epoch = 1
    config.finetune_epochs = 1
    config.rows = ("baseline", "tai_scratch", "tai", "force", "lrdkt")
    config.tai_scratch_fraction = 0.5
    config.tai_fractions = (0.5,)
    config.cp_fractions = (0.5,)
    config.tucker_fractions = (0.5,)
    config.bicluster = ((2, 2, 0.5),)
    config.lrdkt.fraction = 0.5
    config.latency_repeats = 2
    return config
