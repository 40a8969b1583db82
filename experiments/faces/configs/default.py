"""Default config: Extended Yale B, 32 training images per subject, 8 test images per subject
(304 in all), clean / 20 % / 40 % pixel corruption, block occlusion and both (2-core CPU)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.n_train = 32
    config.n_test = 8
    config.seed = 0
    config.dtype = "float32"
    config.corruptions = (
        ("none", 0.0),
        ("pixel", 0.2),
        ("pixel", 0.4),
        ("block", 0.2),
        ("block", 0.4),
        ("mixed", 0.2),  # LR-LUM's "20% OC": 20 % block occlusion + 20 % pixel corruption
        ("mixed", 0.4),
    )
    config.methods = ("src", "lrsrc", "lrlum")
    config.lam = 0.01  # SRC: l1 weight on the code x
    # lrsrc (test images scaled to unit norm): weights of the reweighted sparse error and of
    # the nuclear norm of the error image, ridge on the code, ADMM penalty
    config.lam_s = 0.1
    config.tau = 1.0
    config.ridge = 0.01
    config.mu = 20.0
    # lrlum (LR-LUM): structured / pixel trade-off, l1 weight on the code, ADMM penalty
    # (chosen on a validation split, seed 1: 93.4 % / 82.9 % at 20 % / 40 % OC)
    config.lrlum = ml_collections.ConfigDict({"alpha": 0.9, "beta": 0.1, "mu": 20.0})
    config.maxiter = 200  # FISTA iterations (src) / ADMM iterations per round (lrsrc)
    config.rounds = 2  # reweighting rounds
    config.figure_corruption = ("block", 0.4)
    return config
