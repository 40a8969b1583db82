"""Default: TT-GRU (TT-ranks 1,9,9,9,1; 8,448 cell parameters) on JSB Chorales.

Every other config derives from this one; override any field on the command line, e.g.
``--config.dataset=nottingham --config.cell.rank=7``.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # jsb_chorales | nottingham | piano_midi | musedata, or your data: a .mat / .json / .pkl
    # file, or a folder of MIDI files in train/, valid/ and test/ subfolders
    c.dataset = "jsb_chorales"
    c.steps_per_beat = 1  # MIDI folders: time steps per quarter note
    c.seed = 0

    c.cell = ml_collections.ConfigDict(type_safe=False)  # rank: int (CP) or tuple
    c.cell.kind = "tt"  # gru | cp | tucker | tt
    c.cell.rank = (1, 9, 9, 9, 1)  # CP: int; Tucker: per-mode ranks; TT: TT-ranks
    c.cell.in_modes = (4, 4, 4, 4)
    c.cell.hidden_modes = (8, 4, 4, 4)
    c.embed = 256  # Linear(88 -> embed) + LeakyReLU(0.1) feeds the cell
    c.hidden = 512
    # on the cell's outputs, before Linear(hidden -> 88); on MuseData (at learning rate 5e-3)
    # 0.4 gave test NLL 7.189 where 0.3 gave 7.239 (docs/results/polyphonic.md, eighth group)
    c.dropout = 0.3

    c.learning_rate = 1.6e-2  # tuned on JSB validation NLL, 3 seeds (docs/results/polyphonic.md)
    c.lr_decay = 1.0  # < 1: multiply the learning rate by this on a validation plateau
    c.lr_patience = 3  # epochs without improvement before a decay
    c.clip_norm = 5.0  # global gradient-norm clipping
    # > 0: AdamW's decoupled decay on the weight matrices and tensor factors (not the biases):
    # each step also subtracts learning_rate * weight_decay * w from every such weight w
    c.weight_decay = 0.0
    c.ema_decay = 0.99  # > 0: evaluate an exponential moving average of the parameters
    c.batch_size = 8
    c.max_epochs = 100
    # stop when validation NLL has not improved for this many epochs; on MuseData pass 30: the
    # tensorized cells sit on a validation plateau for 15-40 epochs before a drop
    c.patience = 10
    # > 0: train on pieces of at most this many predicted frames, cut at a random offset per
    # sequence and epoch (truncated back-propagation through time; every frame is still
    # predicted once per epoch); validation and test always run on whole sequences. 100 gave
    # every cell its best Piano-midi.de result and the CP- and TT-GRU their best MuseData ones
    # (docs/results/polyphonic.md, ninth group); JSB's sequences are 25-160 frames long
    c.train_chunk = -1
    c.min_bucket = 16  # padded lengths: quarter-octave buckets >= this (few compiled shapes)
    c.eval_batch_size = 64

    c.limit_sequences = -1  # > 0: keep only the first sequences of each split (tests)
    c.max_length = -1  # > 0: crop sequences to this many frames (tests)

    c.checkpoint_every_steps = 50  # plus one at the end of every epoch
    c.stop_after_steps = -1  # > 0: stop as if killed after this many steps (resume tests)
    c.progress = True

    # data parallel: the batch split over this many devices on one "data" mesh axis (-1: every
    # device of every process), parameters replicated; the result does not depend on it
    c.mesh = ml_collections.ConfigDict()
    c.mesh.data = -1
    # several processes (hosts): "" / -1 fall back to JAX_COORDINATOR_ADDRESS,
    # JAX_NUM_PROCESSES and JAX_PROCESS_ID; none set: one process (docs/distributed.md)
    c.distributed = ml_collections.ConfigDict()
    c.distributed.coordinator_address = ""  # host:port of process 0; "auto": TPU / Slurm / MPI
    c.distributed.num_processes = -1
    c.distributed.process_id = -1
    c.distributed.timeout_s = 300  # how long to wait for every process to join
    return c
