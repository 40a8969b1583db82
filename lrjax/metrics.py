"""Evaluation metrics: image quality (PSNR, SSIM), detection (F-measure), and per-frame
Bernoulli NLL and frame-level accuracy for piano rolls."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from . import _checks
from ._sharding import partitioned

__all__ = [
    "DetectionStats",
    "FrameStats",
    "detection_stats",
    "f_measure",
    "frame_accuracy",
    "frame_stats",
    "nll_per_frame",
    "psnr",
    "ssim",
]


def _real(name: str, x) -> jax.Array:
    """``x`` as a real array, not empty (booleans and integers are promoted to float)."""
    arr = jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _binary(name: str, x: jax.Array) -> None:
    """A concrete ``x`` must hold only 0 and 1 (a mask, a ground truth, a piano roll)."""
    if _checks.is_concrete(x) and not bool(
        _checks.concrete_value(lambda a: jnp.all((a == 0) | (a == 1)), x)
    ):
        raise ValueError(f"`{name}` must be binary (boolean or 0/1), got other values.")


def _unit_interval(name: str, x: jax.Array) -> None:
    """A concrete ``x`` must lie in [0, 1] (NaN passes: it propagates to the result)."""
    if _checks.is_concrete(x) and bool(
        _checks.concrete_value(lambda a: jnp.any((a < 0) | (a > 1)), x)
    ):
        raise ValueError(
            f"`{name}` must lie in [0, 1] (a mask or a probability), got other values."
        )


def _frame_mask(targets: jax.Array, mask: jax.Array | None) -> jax.Array:
    if mask is None:
        return jnp.ones(targets.shape[:-1], targets.dtype)
    mask = jnp.asarray(mask)
    if mask.shape != targets.shape[:-1]:
        raise ValueError(
            f"`mask` must have shape targets.shape[:-1]={targets.shape[:-1]}, got {mask.shape}."
        )
    _binary("mask", mask)
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
    logits, targets = _real("logits", logits), _real("targets", targets)
    if logits.ndim < 1:
        raise ValueError(f"`logits` must have a key axis (..., K), got shape {logits.shape}.")
    if logits.shape != targets.shape:
        raise ValueError(
            f"`logits` {logits.shape} and `targets` {targets.shape} must have one shape."
        )
    _binary("targets", targets)
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


# ---------------------------------------------------------------------------------------------
# Image quality


def psnr(x: jax.Array, y: jax.Array, *, data_range: float = 1.0) -> jax.Array:
    r"""Peak signal-to-noise ratio in dB, :math:`10 \log_{10}(L^2 / \mathrm{MSE}(x, y))`.

    The mean squared error runs over every entry of ``x`` and ``y`` (for a multispectral image
    this is the PSNR of the whole cube; vmap over bands for band-wise values).

    Args:
        x, y: arrays of one shape (reference and estimate; the metric is symmetric).
        data_range: the peak value ``L`` (1 for images in [0, 1], 255 for 8-bit images).

    Returns:
        A scalar; ``inf`` when ``x == y``.

    Raises:
        ValueError: for arrays of different shapes or a non-positive ``data_range``.

    Examples:
        >>> round(float(psnr(jnp.zeros(4), jnp.full(4, 0.1))), 6)  # MSE 0.01 -> 20 dB
        20.0
    """
    x, y = _same_shape(x, y)
    _positive_range(data_range)
    mse = jnp.mean((x - y) ** 2)  # 0 for identical images: +inf dB
    return 10.0 * jnp.log10(jnp.asarray(data_range, x.dtype) ** 2 / mse)


def _same_shape(x, y, names: tuple[str, str] = ("x", "y")) -> tuple[jax.Array, jax.Array]:
    x, y = _real(names[0], x), _real(names[1], y)
    if x.shape != y.shape:
        raise ValueError(f"`{names[0]}` {x.shape} and `{names[1]}` {y.shape} must have one shape.")
    dtype = jnp.result_type(x.dtype, y.dtype, jnp.float32)
    return x.astype(dtype), y.astype(dtype)


def _positive_range(data_range) -> None:
    _checks.positive("data_range", data_range)


def _gaussian_window(size: int, sigma: float, dtype) -> jax.Array:
    t = jnp.arange(size, dtype=dtype) - (size - 1) / 2
    g = jnp.exp(-(t**2) / (2 * sigma**2))
    return g / jnp.sum(g)


def _filter_valid(img: jax.Array, g: jax.Array) -> jax.Array:
    """Separable 'valid' correlation of a 2-D image with the 1-D window ``g`` on both axes."""
    k = g.shape[0]
    h, w = img.shape[0] - k + 1, img.shape[1] - k + 1
    rows = jnp.tensordot(g, jnp.stack([img[i : i + h, :] for i in range(k)]), axes=1)
    return jnp.tensordot(g, jnp.stack([rows[:, j : j + w] for j in range(k)]), axes=1)


def _ssim_2d(x, y, g, c1, c2):
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return jnp.mean(num / den)


def ssim(
    x: jax.Array,
    y: jax.Array,
    *,
    data_range: float = 1.0,
    channel_axis: int | None = None,
    win_size: int = 11,
    sigma: float = 1.5,
) -> jax.Array:
    r"""Mean structural similarity (Wang et al. 2004) with a Gaussian window.

    .. math:: \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
       {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
       \quad C_1 = (0.01 L)^2,\ C_2 = (0.03 L)^2,

    with local means, variances and covariance weighted by an ``win_size`` x ``win_size``
    Gaussian of standard deviation ``sigma`` (11 and 1.5, as in the paper), averaged over the
    windows that fit inside the image (no padding). The same choices as
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False)`` apart from skimage's border crop. For a multichannel image
    (``channel_axis`` given) the SSIM is computed per channel and averaged, as the MSI
    denoising literature reports it.

    Args:
        x, y: images ``(H, W)``, or with one channel axis.
        data_range: the peak value ``L``.
        channel_axis: the channel axis, or ``None`` for a 2-D image.
        win_size: window side (static, odd, at most ``min(H, W)``).
        sigma: standard deviation of the Gaussian window.

    Returns:
        A scalar in [-1, 1]; 1 when ``x == y``.

    Raises:
        ValueError: for shapes that differ, an image that is not 2-D per channel, a bad
            ``win_size`` or a non-positive ``data_range``.

    Examples:
        >>> img = jnp.linspace(0, 1, 256).reshape(16, 16)
        >>> round(float(ssim(img, img)), 6)
        1.0

    References:
        Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
        error visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    x, y = _same_shape(x, y)
    _positive_range(data_range)
    if channel_axis is not None:
        if x.ndim != 3:
            raise ValueError(f"with `channel_axis`, x must be 3-D, got shape {x.shape}")
        x, y = jnp.moveaxis(x, channel_axis, 0), jnp.moveaxis(y, channel_axis, 0)
    elif x.ndim != 2:
        raise ValueError(f"x must be a 2-D image (or give `channel_axis`), got shape {x.shape}")
    win_size = _checks.positive_int("win_size", win_size)
    _checks.positive("sigma", sigma)
    if win_size % 2 == 0 or win_size > min(x.shape[-2:]):
        raise ValueError(
            f"`win_size` must be odd and at most the image side {min(x.shape[-2:])}, "
            f"got {win_size}."
        )
    return partitioned(_ssim, x, y, data_range, sigma, win_size=win_size)


@functools.partial(jax.jit, static_argnames=("win_size",))
def _ssim(x, y, data_range, sigma, *, win_size):
    g = _gaussian_window(win_size, sigma, x.dtype)
    c1 = (0.01 * jnp.asarray(data_range, x.dtype)) ** 2
    c2 = (0.03 * jnp.asarray(data_range, x.dtype)) ** 2
    if x.ndim == 2:
        return _ssim_2d(x, y, g, c1, c2)
    return jnp.mean(jax.vmap(_ssim_2d, (0, 0, None, None, None))(x, y, g, c1, c2))


# ---------------------------------------------------------------------------------------------
# Detection


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
    p, t = _same_shape(pred, truth, ("pred", "truth"))
    _binary("truth", t)
    _unit_interval("pred", p)
    if valid is None:
        w = jnp.ones_like(p)
    else:
        w, _ = _same_shape(valid, p, ("valid", "pred"))
        _binary("valid", w)
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
