"""Non-local low-rank priors on groups of similar patches, shared by the imaging experiments.

An image ``(H, W, C)`` is cut into overlapping ``p x p x C`` patches. For every reference patch
on a grid (stride ``s``) the ``K`` most similar patches inside a search window form a group;
each group is denoised by a low-rank step, and the denoised patches are averaged back.

Group steps (``prior``):

* ``"svt"``: the ``K x (p p C)`` group matrix (mean patch removed) goes through weighted
  singular value thresholding with the WNNM weights ``w_i = c sqrt(K) σ² / (σ̂_i + ε)``
  (Gu et al., IJCV 2017), ``σ̂_i = sqrt(max(σ_i² − max(K, d) σ², 0))``: the noise energy per
  singular value of a ``K x d`` group, ``d = p p C``, which for multispectral patches is far
  above WNNM's ``K σ²``. For multispectral patches this is the low rank along the non-local
  mode of Chang et al. (CVPR 2017).
* ``"tucker"``: the ``p x p x K`` group tensor (for ``C == 1``) goes through HOSVD and its core
  is hard-thresholded at ``κ σ``: a Tucker model with ranks chosen by the noise level.
* ``"cp"``: a rank-``cp_rank`` CP model of the ``p x p x K`` group tensor fitted by
  :func:`lrjax.cp_als` (vmapped over groups).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

import lrjax

PRIORS = ("svt", "tucker", "cp")


def grid(n: int, patch: int, stride: int) -> np.ndarray:
    """Reference positions ``0, s, 2s, ...`` along one axis, always including the last one."""
    pos = list(range(0, n - patch + 1, stride))
    if pos[-1] != n - patch:
        pos.append(n - patch)
    return np.asarray(pos)


def all_patches(img: jax.Array, patch: int) -> jax.Array:
    """``(H - p + 1, W - p + 1, p * p, C)``: every ``p x p`` patch of an ``(H, W, C)`` image."""
    h, w = img.shape[0] - patch + 1, img.shape[1] - patch + 1
    return jnp.stack(
        [img[i : i + h, j : j + w] for i in range(patch) for j in range(patch)], axis=2
    )


def match(guide: jax.Array, patch: int, stride: int, window: int, k: int, batch: int = 256):
    """Block matching: the ``k`` patches of ``guide`` nearest (in l2) to each reference patch.

    Args:
        guide: ``(H, W, C)`` image used for matching (often a band average).
        patch, stride: patch side and grid stride; window: search radius (pixels).
        k: group size (``k <= (2 window + 1)^2``).
        batch: references matched at once (bounds memory).

    Returns:
        ``(n_ref, k)`` flat indices ``y * (W - p + 1) + x`` of the group members (the
        reference itself first: its distance is 0).
    """
    ph, pw = guide.shape[0] - patch + 1, guide.shape[1] - patch + 1
    feats = all_patches(guide, patch).reshape(ph, pw, -1)
    ys, xs = np.meshgrid(
        grid(guide.shape[0], patch, stride), grid(guide.shape[1], patch, stride), indexing="ij"
    )
    refs = np.stack([ys.ravel(), xs.ravel()], -1)
    offs = np.arange(-window, window + 1)
    oy, ox = (a.ravel() for a in np.meshgrid(offs, offs, indexing="ij"))
    if k > oy.size:
        raise ValueError(f"group size `k`={k} exceeds the {oy.size} patches in the window.")

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

    return jax.lax.map(one, jnp.asarray(refs), batch_size=batch)


def _wnnm_shrink(s, hyper, scaling):
    sigma, n, energy, c = hyper
    clean = jnp.sqrt(jnp.maximum(s**2 - energy * sigma**2, 0.0))
    return jnp.maximum(s - scaling * c * jnp.sqrt(n) * sigma**2 / (clean + 1e-8), 0.0)


def spectral_filter(m, fn):
    """``U diag(fn(σ)) V^T`` of a matrix ``m`` from the eigendecomposition of its smaller Gram
    matrix (batched small ``eigh`` is several times faster than batched SVD on CPU; the squared
    condition number does not matter for thresholding at the noise level)."""
    tall = m.shape[0] >= m.shape[1]
    gram = m.T @ m if tall else m @ m.T
    ev, v = jnp.linalg.eigh(gram)
    s = jnp.sqrt(jnp.maximum(ev, 0.0))
    ratio = jnp.where(s > 0, fn(s) / jnp.where(s > 0, s, 1.0), 0.0)
    proj = (v * ratio) @ v.T
    return m @ proj if tall else proj @ m


def _svt_group(g, sigma, c):
    """WNNM on a ``(K, d)`` group; the mean patch is kept."""
    mean = jnp.mean(g, axis=0, keepdims=True)
    # noise adds about max(K, d) σ² to each squared singular value of a K x d group
    hyper = (sigma, g.shape[0], max(g.shape), c)
    return spectral_filter(g - mean, lambda s: _wnnm_shrink(s, hyper, 1.0)) + mean


def _leading_vectors(m):
    """Left singular vectors of ``m`` (all of them) from ``eigh`` of ``m m^T``."""
    return jnp.linalg.eigh(m @ m.T)[1]


def _tucker_group(g, sigma, kappa, patch):
    """HOSVD of the ``p x p x K`` group with the core hard-thresholded at ``κ σ``."""
    t = g.reshape(g.shape[0], patch, patch).transpose(1, 2, 0)
    mean = jnp.mean(t, axis=2, keepdims=True)
    t = t - mean
    us = [_leading_vectors(lrjax.linalg.unfold(t, n)) for n in range(3)]
    core = jnp.einsum("abk,ai,bj,kl->ijl", t, *us)
    core = jnp.where(jnp.abs(core) > kappa * sigma, core, 0.0)
    t = jnp.einsum("ijl,ai,bj,kl->abk", core, *us) + mean
    return t.transpose(2, 0, 1).reshape(g.shape)


def _cp_group(g, rank, patch, maxiter):
    t = g.reshape(g.shape[0], patch, patch).transpose(1, 2, 0)
    mean = jnp.mean(t, axis=2, keepdims=True)
    cp = lrjax.cp_als(t - mean, rank, maxiter=maxiter, init="svd").cp
    return (cp.to_dense() + mean).transpose(2, 0, 1).reshape(g.shape)


@functools.partial(
    jax.jit,
    static_argnames=("patch", "stride", "window", "k", "prior", "cp_rank", "cp_maxiter"),
)
def group_denoise(
    img,
    guide,
    sigma,
    *,
    patch: int,
    stride: int,
    window: int,
    k: int,
    prior: str = "svt",
    c: float = 2 * math.sqrt(2),
    kappa: float = 2.7,
    cp_rank: int = 4,
    cp_maxiter: int = 10,
):
    """One pass of non-local group low-rank denoising of ``img`` ``(H, W, C)``.

    Groups are matched on ``guide`` (same height and width); ``sigma`` is the noise level the
    group step assumes. Returns the aggregated estimate ``(H, W, C)``.
    """
    h, w, ch = img.shape
    ph, pw = h - patch + 1, w - patch + 1
    idx = match(guide, patch, stride, window, k)  # (n_ref, k)
    pats = all_patches(img, patch).reshape(ph * pw, patch * patch * ch)
    groups = pats[idx]  # (n_ref, k, p p C)
    if prior == "svt":
        den = jax.vmap(_svt_group, (0, None, None))(groups, sigma, c)
    elif prior == "tucker":
        if ch != 1:
            raise ValueError(f"prior='tucker' needs a one-channel image, got {ch} channels.")
        den = jax.vmap(_tucker_group, (0, None, None, None))(groups, sigma, kappa, patch)
    elif prior == "cp":
        if ch != 1:
            raise ValueError(f"prior='cp' needs a one-channel image, got {ch} channels.")
        den = jax.vmap(lambda g: _cp_group(g, cp_rank, patch, cp_maxiter))(groups)
    else:
        raise ValueError(f"`prior` must be one of {PRIORS}, got {prior!r}.")
    # aggregate: scatter each denoised patch back, average the overlaps
    dy, dx = np.divmod(np.arange(patch * patch), patch)
    py, px = jnp.divmod(idx.ravel(), pw)
    rows = (py[:, None] + dy[None, :]).ravel()
    cols = (px[:, None] + dx[None, :]).ravel()
    vals = den.reshape(-1, patch * patch, ch).reshape(-1, ch)
    acc = jnp.zeros((h, w, ch), img.dtype).at[rows, cols].add(vals)
    cnt = jnp.zeros((h, w, 1), img.dtype).at[rows, cols].add(1.0)
    return jnp.where(cnt > 0, acc / jnp.maximum(cnt, 1.0), img)
