"""Default config: every row (baseline, Tai, Denton / Lebedev, force regularization, LRDKT)
on Extended Yale B (the training epochs took 10.9 minutes on 2 CPU cores)."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.dataset = "yaleb"  # "yaleb" (2414 faces, 38 subjects) or "orl" (400, 40)
    config.classes = 0  # 0: all subjects; k > 0: the first k (smoke tests)
    config.test_fraction = 0.25  # stratified, fixed by the seed
    config.seed = 0
    config.dtype = "float32"
    config.rows = ("baseline", "tai_scratch", "tai", "cp", "tucker", "bicluster", "force", "lrdkt")
    config.widths = (32, 64, 128)  # channels of the three blocks (two 3 x 3 convs each)
    config.batch_size = 64
    config.augment = False  # True: random flips and 2-pixel shifts (hurt here: 78 % vs 97 %
    # after 10 epochs of the baseline)
    config.epochs = 20  # from scratch: baseline, Tai's low-rank network, force-regularized
    config.lr = 2e-3  # AdamW, cosine decay
    config.weight_decay = 5e-4
    config.steps_per_epoch = 0  # 0: the whole training set
    config.finetune_epochs = 4
    config.finetune_lr = 5e-4
    config.recalibrate_batches = 40  # no-fine-tuning rows: batch-norm statistics re-estimated
    # FLOP fractions of each decomposed convolution (conv1 ... conv5; conv0 has one input
    # channel and stays dense); ranks are rounded to multiples of 8
    config.tai_scratch_fraction = 0.4
    config.tai_fractions = (0.5, 0.33, 0.2)
    config.cp_fractions = (0.33, 0.2)
    config.cp_maxiter = 300  # CP-ALS iterations of each kernel
    config.tucker_fractions = (0.5, 0.33, 0.2)
    config.bicluster = ((2, 2, 0.33),)  # (input groups G, output groups H, FLOP fraction)
    config.force_strength = 1e-3
    config.force_kind = "l2"
    config.lrdkt = ml_collections.ConfigDict()
    config.lrdkt.fraction = 0.2  # the most aggressive Tai decomposition
    config.lrdkt.local_weight = 0.01  # block-output distance ("local knowledge")
    config.lrdkt.global_weight = 1.0  # softened outputs ("global knowledge")
    config.lrdkt.temperature = 4.0
    config.latency_repeats = 30
    # XLA:CPU's YNNPACK library fusion (on by default in jaxlib 0.10) runs this network's
    # convolutions about 2x slower, and some channel counts 4x slower, than its Eigen
    # convolutions (docs/results/cnn_compress.md); the command line turns it off unless True
    config.xla_ynn_fusion = False
    return config
