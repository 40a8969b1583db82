"""Shared pieces of the metric-learning modules: unit-length rows, squared distances and the
checks of triplet arrays."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import _checks


def unit_rows(x):
    """``x`` (``(n, D)``) with each row scaled to unit Euclidean length (zero rows stay
    zero): the preprocessing of :func:`flrml` and :func:`triplet_metric`, to apply to new
    samples before their learnt transform."""
    x = _checks.as_array("x", x, ndim=2)
    norms = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x / jnp.where(norms > 0, norms, 1.0)


def sq_distances(a, b):
    """``(len(a), len(b))`` squared Euclidean distances, clipped at zero."""
    d = jnp.sum(a * a, axis=1)[:, None] + jnp.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    return jnp.maximum(d, 0.0)


def check_samples(x, name: str = "x"):
    """An ``(n, D)`` floating sample matrix with at least two samples and one feature."""
    x = _checks.as_array(name, x, ndim=2)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(
            f"`{name}` must hold at least 2 samples of at least 1 feature, got shape {x.shape}."
        )
    return x


def check_triplets(triplets, n: int):
    """An ``(m, 3)`` integer array of indices into ``n`` samples, checked when concrete."""
    t = jnp.asarray(triplets)
    if t.ndim != 2 or t.shape[1] != 3 or t.shape[0] < 1:
        raise ValueError(
            f"`triplets` must be an (m, 3) array of (anchor, similar, dissimilar) indices with "
            f"m >= 1, got shape {t.shape}."
        )
    if not jnp.issubdtype(t.dtype, jnp.integer):
        raise ValueError(f"`triplets` must hold integer indices, got dtype {t.dtype}.")
    if _checks.is_concrete(t):
        tn = np.asarray(t)
        if tn.min() < 0 or tn.max() >= n:
            raise ValueError(
                f"`triplets` must index the {n} samples (0..{n - 1}), got values in "
                f"[{tn.min()}, {tn.max()}]."
            )
    return t


def check_labels(labels, n: int, name: str = "labels"):
    """An ``(n,)`` integer label array."""
    y = jnp.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) (one per sample), got {y.shape}.")
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"`{name}` must hold integer class labels, got dtype {y.dtype}.")
    return y


def check_fit(x, triplets, rank):
    """The arguments every metric learner shares: samples, triplets indexing them, and a rank
    of at most ``min(n, D)``. Returns ``(x, triplets, rank)``."""
    x = check_samples(x)
    n, d = x.shape
    rank = _checks.positive_int("rank", rank)
    if rank > min(n, d):
        raise ValueError(f"`rank` must be at most min(n, D) = {min(n, d)}, got {rank}.")
    return x, check_triplets(triplets, n), rank
