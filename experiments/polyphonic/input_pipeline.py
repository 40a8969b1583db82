"""The polyphonic data as the training loop sees it: splits, length buckets, shuffled batches,
truncated-BPTT chunks and padding."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np

from experiments.polyphonic.configuration import ADDED_FIELDS
from experiments.polyphonic.model import N_KEYS
from lrjax.data import load_polyphonic


def load_splits(config) -> dict[str, list[np.ndarray]]:
    """The dataset's splits, optionally cut down (``limit_sequences``, ``max_length``)."""
    steps = int(config.get("steps_per_beat", ADDED_FIELDS["steps_per_beat"]))
    data = load_polyphonic(config.dataset, steps_per_beat=steps)._asdict()
    if config.limit_sequences > 0:
        data = {k: v[: config.limit_sequences] for k, v in data.items()}
    if config.max_length > 0:
        data = {k: [s[: config.max_length] for s in v] for k, v in data.items()}
    # a sequence of one frame has nothing to predict
    return {k: [s for s in v if s.shape[0] >= 2] for k, v in data.items()}


def bucket_length(n: int, min_bucket: int) -> int:
    """Smallest ``min_bucket * 2**(k/4)`` (rounded up to a multiple of 8) that is >= ``n``.

    Quarter-octave buckets waste at most ~19 % of the compute on padding while keeping the
    number of compiled shapes logarithmic in the longest sequence.
    """
    k = max(0, math.ceil(4 * math.log2(max(n, 1) / min_bucket) - 1e-9))
    return max(min_bucket, 8 * math.ceil(min_bucket * 2 ** (k / 4) / 8))


def train_batches(n_seqs: int, lengths: np.ndarray, batch_size: int, key) -> list[np.ndarray]:
    """Shuffled batches of similar-length sequences (less padding, same data each epoch).

    The sequences are shuffled, split into pools of ``8 * batch_size``, each pool is sorted by
    length and cut into batches, and the batch order is shuffled.
    """
    k1, k2 = jax.random.split(key)
    order = np.asarray(jax.random.permutation(k1, n_seqs))
    pool = 8 * batch_size
    batches = []
    for start in range(0, n_seqs, pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    perm = np.asarray(jax.random.permutation(k2, len(batches)))
    return [batches[i] for i in perm]


def train_chunks(seqs: list[np.ndarray], chunk: int, key) -> list[np.ndarray]:
    """Each sequence cut into pieces of at most ``chunk`` predicted frames, at an offset drawn
    anew for every sequence and epoch (truncated back-propagation through time).

    A sequence of ``T`` frames has ``T - 1`` frames to predict; the cut points are
    ``j * chunk - offset`` for ``offset`` uniform in ``[0, chunk)``, so every prediction is
    made exactly once per epoch and the pieces overlap by the one frame that each predicts
    from. Every piece starts from the zero state, like a whole sequence.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of frames, got {chunk!r}")
    offsets = np.asarray(jax.random.randint(key, (len(seqs),), 0, chunk))
    pieces = []
    for s, off in zip(seqs, offsets, strict=True):
        n = s.shape[0] - 1
        cuts = np.clip(np.arange(0, n + off + chunk, chunk) - off, 0, n)
        pieces += [s[a : b + 1] for a, b in itertools.pairwise(cuts) if b > a]
    return pieces


def pad_batch(seqs: list[np.ndarray], min_bucket: int):
    """Inputs (frames 0..T-2), targets (frames 1..T-1) and the frame mask, right-padded."""
    length = bucket_length(max(s.shape[0] - 1 for s in seqs), min_bucket)
    x = np.zeros((len(seqs), length, N_KEYS), np.float32)
    y = np.zeros_like(x)
    mask = np.zeros((len(seqs), length), np.float32)
    for i, s in enumerate(seqs):
        t = s.shape[0] - 1
        x[i, :t], y[i, :t], mask[i, :t] = s[:-1], s[1:], 1.0
    return x, y, mask


def eval_batches(seqs: list[np.ndarray], batch_size: int, min_bucket: int):
    """Deterministic padded batches, sequences sorted by length (little padding)."""
    order = sorted(range(len(seqs)), key=lambda i: seqs[i].shape[0])
    return [
        pad_batch([seqs[i] for i in order[k : k + batch_size]], min_bucket)
        for k in range(0, len(order), batch_size)
    ]
