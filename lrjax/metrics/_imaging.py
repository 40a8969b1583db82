"""Image quality: PSNR, SSIM and ERGAS."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from .. import _checks
from .._sharding import partitioned
from ._common import positive_range, same_shape


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
    x, y = same_shape(x, y)
    positive_range(data_range)
    mse = jnp.mean((x - y) ** 2)  # 0 for identical images: +inf dB
    return 10.0 * jnp.log10(jnp.asarray(data_range, x.dtype) ** 2 / mse)


def ergas(x: jax.Array, y: jax.Array, *, ratio: float = 1.0) -> jax.Array:
    r"""ERGAS, the relative dimensionless global error of a multispectral estimate (Wald 2000):

    .. math:: 100\, r \sqrt{\frac{1}{B} \sum_{b=1}^{B}
       \frac{\mathrm{MSE}(x_b, y_b)}{\mu(x_b)^2}}

    over the bands ``b`` along the last axis, ``μ(x_b)`` the mean of the reference band and
    ``r`` the ratio of pixel sizes (1 for denoising, where the estimate has the reference's
    resolution: the convention of the MSI denoising literature, e.g. Chang et al. CVPR 2017).
    Lower is better; 0 for a perfect estimate.

    Args:
        x: reference image ``(..., B)``, bands last (its band means must be non-zero).
        y: estimate, the shape of ``x``.
        ratio: ``r > 0``.

    Returns:
        A scalar.

    Raises:
        ValueError: for arrays of different shapes, fewer than one axis, or ``ratio <= 0``.

    Examples:
        >>> import jax.numpy as jnp
        >>> ref = jnp.ones((4, 4, 3))
        >>> round(float(ergas(ref, ref + 0.1)), 4)  # every band 10 % off: 100 * 0.1
        10.0
    """
    x, y = same_shape(x, y)
    if x.ndim < 1:
        raise ValueError(f"`x` must have a band axis (last), got shape {x.shape}.")
    _checks.positive("ratio", ratio)
    bands_x = x.reshape(-1, x.shape[-1])
    mse = jnp.mean((bands_x - y.reshape(-1, x.shape[-1])) ** 2, axis=0)
    mean = jnp.mean(bands_x, axis=0)
    return 100.0 * ratio * jnp.sqrt(jnp.mean(mse / mean**2))


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
    x, y = same_shape(x, y)
    positive_range(data_range)
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
