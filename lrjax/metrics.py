"""Evaluation metrics: per-frame Bernoulli NLL and frame-level accuracy for piano rolls."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["FrameStats", "frame_accuracy", "frame_stats", "nll_per_frame"]


def _frame_mask(targets: jax.Array, mask: jax.Array | None) -> jax.Array:
    if mask is None:
        return jnp.ones(targets.shape[:-1], targets.dtype)
    if mask.shape != targets.shape[:-1]:
        raise ValueError(
            f"mask must have shape targets.shape[:-1]={targets.shape[:-1]}, got {mask.shape}"
        )
    return mask.astype(targets.dtype)


class FrameStats(NamedTuple):
    """Sums over frames that add across batches (``jax.tree.map(jnp.add, a, b)``).

    Attributes:
        nll_sum: summed negative log-likelihood (nats) of the valid frames.
        n_frames: number of valid frames.
        tp, fp, fn: note-level true positives, false positives, false negatives.
    """

    nll_sum: jax.Array
    n_frames: jax.Array
    tp: jax.Array
    fp: jax.Array
    fn: jax.Array

    @property
    def nll(self) -> jax.Array:
        """NLL in nats per frame (keys summed, frames weighted equally)."""
        return self.nll_sum / jnp.maximum(self.n_frames, 1)

    @property
    def accuracy(self) -> jax.Array:
        """Frame-level accuracy ``TP / (TP + FP + FN)`` (1 when there is nothing to get wrong)."""
        denom = self.tp + self.fp + self.fn
        return jnp.where(denom > 0, self.tp / jnp.maximum(denom, 1), 1.0)


def frame_stats(
    logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None, *, threshold: float = 0.5
) -> FrameStats:
    """NLL and accuracy sums for independent-Bernoulli predictions of binary frames.

    Args:
        logits: ``(..., K)`` logits of the ``K`` keys of each frame.
        targets: ``(..., K)`` binary targets.
        mask: ``(...)`` 1 for frames that count, 0 for padding (default: all count).
        threshold: a key is predicted on when its probability exceeds this.

    Returns:
        :class:`FrameStats`. The NLL of a frame is
        :math:`-\\sum_k [y_k \\log \\sigma(l_k) + (1 - y_k) \\log(1 - \\sigma(l_k))]`.

    Example:
        >>> s = frame_stats(jnp.zeros((2, 3)), jnp.array([[1., 0, 0], [0, 0, 0]]))
        >>> round(float(s.nll), 4), float(s.accuracy)  # 3 log 2 per frame; nothing predicted
        (2.0794, 0.0)

    References:
        Boulanger-Lewandowski et al., ICML 2012 (NLL); Bay, Ehmann & Downie, ISMIR 2009
        (frame-level accuracy).
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits {logits.shape} and targets {targets.shape} must have one shape")
    w = _frame_mask(targets, mask)
    y = targets.astype(logits.dtype)
    nll_keys = jnp.logaddexp(0.0, logits) - y * logits  # softplus(l) - y l
    nll = jnp.sum(jnp.sum(nll_keys, axis=-1) * w)
    on = (jax.nn.sigmoid(logits) > threshold).astype(logits.dtype)
    wk = w[..., None]
    tp = jnp.sum(on * y * wk)
    fp = jnp.sum(on * (1 - y) * wk)
    fn = jnp.sum((1 - on) * y * wk)
    return FrameStats(nll, jnp.sum(w), tp, fp, fn)


def nll_per_frame(
    logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
    """Bernoulli NLL in nats per frame, summed over keys, averaged over unmasked frames.

    Example:
        >>> round(float(nll_per_frame(jnp.zeros((4, 88)), jnp.zeros((4, 88)))), 3)  # 88 log 2
        60.997
    """
    return frame_stats(logits, targets, mask).nll


def frame_accuracy(
    logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None, *, threshold: float = 0.5
) -> jax.Array:
    """Frame-level accuracy ``TP / (TP + FP + FN)`` summed over all unmasked frames.

    Example:
        >>> logits = jnp.array([[5.0, -5.0, 5.0]])
        >>> round(float(frame_accuracy(logits, jnp.array([[1.0, 1.0, 0.0]]))), 4)  # 1 / 3
        0.3333
    """
    return frame_stats(logits, targets, mask, threshold=threshold).accuracy
