"""Detection: per-pixel confusion counts and the F-measure (change detection, CDnet)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ._common import binary, same_shape, unit_interval


class DetectionStats(NamedTuple):
    """Pixel counts of a binary detection that add across frames or batches.

    Attributes:
        tp, fp, fn, tn: true/false positives and negatives over the valid pixels (soft
            counts when the prediction is a probability map).
    """

    tp: jax.Array
    fp: jax.Array
    fn: jax.Array
    tn: jax.Array

    @property
    def precision(self) -> jax.Array:
        """``TP / (TP + FP)`` (0 when nothing is predicted)."""
        return self.tp / jnp.maximum(self.tp + self.fp, 1e-12)

    @property
    def recall(self) -> jax.Array:
        """``TP / (TP + FN)`` (0 when there is nothing to find)."""
        return self.tp / jnp.maximum(self.tp + self.fn, 1e-12)

    @property
    def f_measure(self) -> jax.Array:
        """``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall."""
        return 2 * self.tp / jnp.maximum(2 * self.tp + self.fp + self.fn, 1e-12)


def detection_stats(
    pred: jax.Array, truth: jax.Array, valid: jax.Array | None = None
) -> DetectionStats:
    """Confusion counts of a foreground detection against ground truth.

    Args:
        pred: predicted foreground, boolean or a probability in [0, 1] (soft counts, which
            are differentiable), any shape.
        truth: true foreground, same shape (boolean or 0/1).
        valid: pixels that count (boolean, same shape); ``None`` counts all. Use it for the
            CDnet conventions: outside-ROI (85) and unknown-motion (170) pixels do not count
            (see :func:`lrjax.data.cdnet_labels`).

    Returns:
        :class:`DetectionStats` summed over every valid pixel.

    Raises:
        ValueError: for shapes that differ, complex or empty input, a ``truth`` or ``valid``
            that is not binary, or ``pred`` outside [0, 1] (concrete values).

    Examples:
        >>> s = detection_stats(jnp.array([1, 1, 0, 0]), jnp.array([1, 0, 1, 0]))
        >>> [float(v) for v in s], float(s.f_measure)
        ([1.0, 1.0, 1.0, 1.0], 0.5)
    """
    p, t = same_shape(pred, truth, ("pred", "truth"))
    binary("truth", t)
    unit_interval("pred", p)
    if valid is None:
        w = jnp.ones_like(p)
    else:
        w, _ = same_shape(valid, p, ("valid", "pred"))
        binary("valid", w)
    return DetectionStats(
        tp=jnp.sum(p * t * w),
        fp=jnp.sum(p * (1 - t) * w),
        fn=jnp.sum((1 - p) * t * w),
        tn=jnp.sum((1 - p) * (1 - t) * w),
    )


def f_measure(pred: jax.Array, truth: jax.Array, valid: jax.Array | None = None) -> jax.Array:
    """F-measure ``2 P R / (P + R)`` of a foreground detection, over all valid pixels.

    CDnet's per-sequence F-measure sums the counts over every evaluated frame first; pass the
    whole ``(frames, H, W)`` stack to get it. See :func:`detection_stats` for the arguments.

    Examples:
        >>> round(float(f_measure(jnp.array([1, 1, 1, 0]), jnp.array([1, 1, 0, 0]))), 4)
        0.8
    """
    return detection_stats(pred, truth, valid).f_measure
