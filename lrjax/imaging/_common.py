"""Helpers shared by the imaging modules: image arguments, patch extraction, block matching
and aggregation, without argument checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks


def image(name: str, img, *, check_finite: bool = True) -> jax.Array:
    """``img`` as a floating ``(H, W, C)`` array (a 2-D image gets ``C = 1``); errors name
    ``name``."""
    img = _checks.as_array(name, img, check_finite=check_finite)
    if img.ndim not in (2, 3):
        raise ValueError(f"`{name}` must be an image (H, W) or (H, W, C), got shape {img.shape}.")
    return img if img.ndim == 3 else img[..., None]


def coding_args(dictionary, y, shape) -> tuple[jax.Array, jax.Array, tuple[int, int]]:
    """The checked ``(dictionary, y, shape)`` of a face-coding routine: a ``(d, n)``
    dictionary, a ``(d,)`` signal and the two ints of the error image, ``d = h w``."""
    a = _checks.as_array("dictionary", dictionary, ndim=2)
    y = _checks.as_array("y", y, ndim=1)
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 2
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)
    ):
        raise ValueError(f"`shape` must be two positive ints, got {shape!r}.")
    shape = (int(shape[0]), int(shape[1]))
    if y.shape[0] != a.shape[0] or shape[0] * shape[1] != a.shape[0]:
        raise ValueError(
            f"`y` ({y.shape[0]} entries), `dictionary` ({a.shape[0]} rows) and `shape` {shape} "
            "must agree."
        )
    return a, y, shape


def patches(img: jax.Array, patch: int) -> jax.Array:
    """``(H - p + 1, W - p + 1, p p, C)``: every ``p x p`` patch of an ``(H, W, C)`` image."""
    h, w = img.shape[0] - patch + 1, img.shape[1] - patch + 1
    return jnp.stack(
        [img[i : i + h, j : j + w] for i in range(patch) for j in range(patch)], axis=2
    )


def fits(img: jax.Array, patch: int) -> int:
    """``patch`` as an int, checked to fit the image's smaller side."""
    patch = _checks.positive_int("patch", patch)
    if patch > min(img.shape[:2]):
        raise ValueError(
            f"`patch` must be at most the image's smaller side {min(img.shape[:2])}, got {patch}."
        )
    return patch


def match(guide, patch, stride, window, k, batch):
    """Block matching on a checked ``(H, W, C)`` guide: ``(n_ref, k)`` flat patch indices,
    the reference first (see :func:`lrjax.imaging.block_match`)."""
    ph, pw = guide.shape[0] - patch + 1, guide.shape[1] - patch + 1
    feats = patches(guide, patch).reshape(ph, pw, -1)
    ys, xs = np.meshgrid(
        grid(guide.shape[0], patch, stride),
        grid(guide.shape[1], patch, stride),
        indexing="ij",
    )
    refs = np.stack([ys.ravel(), xs.ravel()], -1)
    offs = np.arange(-window, window + 1)
    oy, ox = (a.ravel() for a in np.meshgrid(offs, offs, indexing="ij"))

    def one(ref):
        # shift windows that cross the border so every candidate is a distinct patch
        cy = jnp.clip(ref[0], window, ph - 1 - window) if ph > 2 * window else ref[0]
        cx = jnp.clip(ref[1], window, pw - 1 - window) if pw > 2 * window else ref[1]
        cand_y = jnp.clip(cy + oy, 0, ph - 1)
        cand_x = jnp.clip(cx + ox, 0, pw - 1)
        d = jnp.sum((feats[cand_y, cand_x] - feats[ref[0], ref[1]]) ** 2, axis=-1)
        d = jnp.where((cand_y == ref[0]) & (cand_x == ref[1]), -1.0, d)  # reference first
        _, top = jax.lax.top_k(-d, k)
        return cand_y[top] * pw + cand_x[top]

    return jax.lax.map(one, jnp.asarray(refs), batch_size=min(batch, len(refs)))


def match_args(guide, patch, stride, window, k, batch):
    """The checked block-matching options; ``k`` must not exceed the candidates a window
    holds."""
    patch = fits(guide, patch)
    stride = _checks.positive_int("stride", stride)
    window = _checks.nonneg_int("window", window)
    k = _checks.positive_int("k", k)
    batch = _checks.positive_int("batch", batch)
    ph, pw = guide.shape[0] - patch + 1, guide.shape[1] - patch + 1
    available = min(2 * window + 1, ph) * min(2 * window + 1, pw)
    if k > available:
        raise ValueError(
            f"group size `k`={k} exceeds the {available} patches in a search window of radius "
            f"{window} on a {guide.shape[0]} x {guide.shape[1]} image with patch {patch}."
        )
    return patch, stride, window, k, batch


def aggregate(values, idx, shape, patch, fill):
    """Scatter ``(n, p p, C)`` patches to the flat positions ``idx`` of an image of ``shape``
    and average the overlaps; pixels no patch covers keep ``fill``."""
    h, w, ch = shape
    pw = w - patch + 1
    dy, dx = np.divmod(np.arange(patch * patch), patch)
    py, px = jnp.divmod(idx.ravel(), pw)
    rows = (py[:, None] + dy[None, :]).ravel()
    cols = (px[:, None] + dx[None, :]).ravel()
    vals = values.reshape(-1, ch)
    acc = jnp.zeros((h, w, ch), values.dtype).at[rows, cols].add(vals)
    cnt = jnp.zeros((h, w, 1), values.dtype).at[rows, cols].add(1.0)
    return jnp.where(cnt > 0, acc / jnp.maximum(cnt, 1.0), fill)


def grid(n: int, patch: int, stride: int) -> np.ndarray:
    """Start positions ``0, s, 2s, ...`` of patches along an axis of length ``n``, always
    including the last one, ``n - patch``."""
    pos = list(range(0, n - patch + 1, stride))
    if pos[-1] != n - patch:
        pos.append(n - patch)
    return np.asarray(pos)
