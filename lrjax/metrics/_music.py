"""Piano-roll metrics: per-frame Bernoulli NLL and frame-level accuracy (Boulanger-Lewandowski
et al. 2012), as additive statistics over batches."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from ._common import binary, real_array


def _frame_mask(targets: jax.Array, mask: jax.Array | None) -> jax.Array:
    if mask is None:
        return jnp.ones(targets.shape[:-1], targets.dtype)
    mask = jnp.asarray(mask)
    if mask.shape != targets.shape[:-1]:
        raise ValueError(
            f"`mask` must have shape targets.shape[:-1]={targets.shape[:-1]}, got {mask.shape}."
        )
    binary("mask", mask)
    if _checks.is_concrete(mask) and not bool(_checks.concrete_value(jnp.any, mask)):
        raise ValueError("`mask` must select at least one frame, got none (no NLL to average).")
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
        """NLL in nats per frame (keys summed, frames weighted equally); NaN over no frame."""
        return jnp.where(self.n_frames > 0, self.nll_sum / jnp.maximum(self.n_frames, 1), jnp.nan)

    @property
    def accuracy(self) -> jax.Array:
        """Frame-level accuracy ``TP / (TP + FP + FN)`` (1 when frames were scored and there
        was nothing to get wrong; NaN over no frame)."""
        denom = self.tp + self.fp + self.fn
        acc = jnp.where(denom == 0, 1.0, self.tp / jnp.where(denom == 0, 1.0, denom))
        return jnp.where(self.n_frames > 0, acc, jnp.nan)


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

    Examples:
        >>> s = frame_stats(jnp.zeros((2, 3)), jnp.array([[1., 0, 0], [0, 0, 0]]))
        >>> round(float(s.nll), 4), float(s.accuracy)  # 3 log 2 per frame; nothing predicted
        (2.0794, 0.0)

    References:
        Boulanger-Lewandowski et al., ICML 2012 (NLL); Bay, Ehmann & Downie, ISMIR 2009
        (frame-level accuracy).

    Raises:
        ValueError: for shapes that differ, complex or empty input, non-binary targets or
            mask, a mask that selects no frame, or a threshold outside [0, 1] (concrete
            values; traced ones are not checked, and a mask of no frame gives NaN).
    """
    logits, targets = real_array("logits", logits), real_array("targets", targets)
    if logits.ndim < 1:
        raise ValueError(f"`logits` must have a key axis (..., K), got shape {logits.shape}.")
    if logits.shape != targets.shape:
        raise ValueError(
            f"`logits` {logits.shape} and `targets` {targets.shape} must have one shape."
        )
    binary("targets", targets)
    _checks.scalar("threshold", threshold, lambda v: 0 <= v <= 1, "in [0, 1] (a probability)")
    w = _frame_mask(targets, mask)
    y = targets.astype(logits.dtype)
    nll_keys = jnp.logaddexp(0.0, logits) - y * logits  # softplus(l) - y l
    nll = jnp.sum(jnp.sum(nll_keys, axis=-1) * w)
    on = (jax.nn.sigmoid(logits) > threshold).astype(logits.dtype)
    wk = w[..., None]
    # a non-finite logit (in a counted frame) makes the counts NaN, not a silent "off"
    broken = jnp.sum(jnp.where(jnp.isfinite(logits), 0.0, 1.0) * wk) > 0
    tp = jnp.sum(on * y * wk) + jnp.where(broken, jnp.nan, 0.0)
    fp = jnp.sum(on * (1 - y) * wk)
    fn = jnp.sum((1 - on) * y * wk)
    return FrameStats(nll, jnp.sum(w), tp, fp, fn)


def nll_per_frame(
    logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None
) -> jax.Array:
    """Bernoulli NLL in nats per frame, summed over keys, averaged over unmasked frames.

    Examples:
        >>> round(float(nll_per_frame(jnp.zeros((4, 88)), jnp.zeros((4, 88)))), 3)  # 88 log 2
        60.997
    """
    return frame_stats(logits, targets, mask).nll


def frame_accuracy(
    logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None, *, threshold: float = 0.5
) -> jax.Array:
    """Frame-level accuracy ``TP / (TP + FP + FN)`` summed over all unmasked frames.

    Examples:
        >>> logits = jnp.array([[5.0, -5.0, 5.0]])
        >>> round(float(frame_accuracy(logits, jnp.array([[1.0, 1.0, 0.0]]))), 4)  # 1 / 3
        0.3333
    """
    return frame_stats(logits, targets, mask, threshold=threshold).accuracy
