"""Patches of an image, block matching and the aggregation of denoised patches."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .. import _checks
from ._common import aggregate, fits, grid, image, match, match_args, patches


def patch_grid(n: int, patch: int, stride: int) -> np.ndarray:
    """Reference positions ``0, s, 2s, ...`` along an axis of length ``n``, always including the
    last one, ``n - patch`` (so every pixel is covered).

    Args:
        n: length of the axis.
        patch: patch side, ``1 <= patch <= n``.
        stride: grid step, at least 1.

    Returns:
        NumPy ``int`` array of start positions.

    Raises:
        ValueError: for a ``patch`` outside ``[1, n]`` or a non-positive ``stride``.

    Examples:
        >>> patch_grid(10, 4, 3).tolist()
        [0, 3, 6]
        >>> patch_grid(10, 4, 4).tolist()
        [0, 4, 6]
    """
    n = _checks.positive_int("n", n)
    patch = _checks.positive_int("patch", patch)
    stride = _checks.positive_int("stride", stride)
    if patch > n:
        raise ValueError(f"`patch` must be at most the axis length {n}, got {patch}.")
    return grid(n, patch, stride)


def extract_patches(img: Float[Array, "H W *C"], patch: int) -> Float[Array, "H1 W1 pp C"]:
    """Every ``patch x patch`` patch of an image.

    Args:
        img: image ``(H, W)`` or ``(H, W, C)``.
        patch: patch side, at most ``min(H, W)`` (static).

    Returns:
        ``(H - p + 1, W - p + 1, p * p, C)``: entry ``[y, x, i * p + j, c]`` is pixel
        ``(y + i, x + j)`` of channel ``c`` (``C = 1`` for a 2-D image).

    Raises:
        ValueError: for an input that is not an image or a patch that does not fit.

    Examples:
        >>> import jax.numpy as jnp
        >>> extract_patches(jnp.arange(16.0).reshape(4, 4), 2)[1, 2, :, 0].tolist()
        [6.0, 7.0, 10.0, 11.0]
    """
    img = image("img", img, check_finite=False)
    fits(img, patch)
    return patches(img, patch)


def block_match(
    guide: Float[Array, "H W *C"],
    *,
    patch: int,
    stride: int,
    window: int,
    k: int,
    batch: int = 256,
) -> Int[Array, "n_ref k"]:
    """Block matching: the ``k`` patches of ``guide`` nearest in ``l2`` to each reference patch.

    The reference patches start on the grid ``patch_grid(H, patch, stride) x
    patch_grid(W, patch, stride)``; the candidates of one reference are the patches whose
    start lies in the ``(2 window + 1)^2`` square around it (shifted inside the image at the
    border, so every candidate is a distinct patch).

    Args:
        guide: image ``(H, W)`` or ``(H, W, C)`` the distances are measured on (often the
            noisy image, or a band average of a multispectral one).
        patch: patch side; stride: reference grid step; window: search radius in pixels
            (all static).
        k: group size, at most the number of candidates (static).
        batch: references matched at once, bounding memory (static).

    Returns:
        ``(n_ref, k)`` flat patch indices ``y * (W - p + 1) + x``, the reference itself first.
        Indices are integers: no gradient flows through the matching.

    Raises:
        ValueError: for a non-image ``guide``, NaN/inf in it (in an eager call; under ``jit``
            the matches of such patches are arbitrary), or options that do not fit it.

    Examples:
        >>> import jax
        >>> img = jax.random.uniform(jax.random.key(0), (12, 12))
        >>> block_match(img, patch=4, stride=4, window=2, k=5).shape
        (9, 5)
    """
    guide = image("guide", guide)
    args = match_args(guide, patch, stride, window, k, batch)
    return match(guide, *args)


def aggregate_patches(
    values: Float[Array, "n_ref k pp C"],
    idx: Int[Array, "n_ref k"],
    fill: Float[Array, "H W *C"],
    *,
    patch: int,
) -> Float[Array, "H W *C"]:
    """Put patches back in place and average where they overlap.

    Args:
        values: ``(n_ref, k, p * p, C)`` patches (the layout of :func:`extract_patches`).
        idx: ``(n_ref, k)`` flat patch indices, as :func:`block_match` returns.
        fill: image ``(H, W)`` or ``(H, W, C)`` whose pixels are kept where no patch lands
            (its shape is the output's).
        patch: patch side (static).

    Returns:
        The aggregated image, the shape of ``fill``.

    Raises:
        ValueError: when ``values``, ``idx`` and ``fill`` do not agree.

    Examples:
        >>> import jax.numpy as jnp
        >>> img = jnp.arange(16.0).reshape(4, 4)
        >>> idx = jnp.arange(9).reshape(9, 1)  # every 2 x 2 patch once
        >>> pats = extract_patches(img, 2).reshape(9, 1, 4, 1)
        >>> bool(jnp.allclose(aggregate_patches(pats, idx, img, patch=2), img))
        True
    """
    fill_in = _checks.as_array("fill", fill, check_finite=False)
    img = image("fill", fill_in, check_finite=False)
    patch = fits(img, patch)
    values = _checks.as_array("values", values, ndim=4, check_finite=False)
    idx = jnp.asarray(idx)
    if not jnp.issubdtype(idx.dtype, jnp.integer) or idx.ndim != 2:
        raise ValueError(f"`idx` must be a 2-D integer array, got {idx.dtype} {idx.shape}.")
    want = (*idx.shape, patch * patch, img.shape[2])
    if values.shape != want:
        raise ValueError(f"`values` must have shape {want}, got {values.shape}.")
    out = aggregate(values, idx, img.shape, patch, img.astype(values.dtype))
    return out if fill_in.ndim == 3 else out[..., 0]
