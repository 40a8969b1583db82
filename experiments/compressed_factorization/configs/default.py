"""Default config: the planted phase transition and the two real collections (2-core CPU,
a few minutes)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # planted M = W H, W sparse non-negative (d x r), H uniform (r x n)
    config.planted_d = 400
    config.planted_n = 200
    config.planted_rank = 8
    config.densities = (0.01, 0.02, 0.05, 0.1)
    config.ratios = (2, 4, 8, 16)
    # real data: "faces" (Yale B, 1024 pixels x 2414 images), "msi" (CAVE chart, 75 x 75
    # pixels x 31 bands)
    config.real = ("faces", "msi")
    config.real_ratios = (2, 5, 10)
    config.faces_rank = 25
    config.msi_rank = 8
    # compression: each column of P has `p_nnz` entries 1 / sqrt(p_nnz) (non-negative, so the
    # compressed data stay non-negative and NMF applies)
    config.p_nnz = 4
    config.reg = 1e-3
    config.maxiter = 500
    config.tol = 1e-7
    config.recovery_iters = 1000
    config.seed = 0
    config.dtype = "float64"
    return config
