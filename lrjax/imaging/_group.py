"""Non-local low-rank denoising: a low-rank step on every group of similar patches.

An image ``(H, W, C)`` is cut into overlapping ``p x p x C`` patches. For every reference patch
on a grid (stride ``s``) the ``K`` most similar patches inside a search window form a group
(:func:`block_match`); each group is denoised by a low-rank step (the *prior*), and the
denoised patches are averaged back (:func:`aggregate_patches`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from ..decomposition import cp_als, hosvd
from ..linalg._spectral import gram_singular_value_map
from ..tensors import TuckerTensor
from ._common import aggregate, image, match, match_args, patches


class WNNMPrior(NamedTuple):
    r"""Weighted nuclear norm of the ``K x (p p C)`` group matrix (mean patch kept aside).

    The weights are WNNM's, ``w_i = c sqrt(K) σ² / (σ̂_i + ε)`` (Gu et al., IJCV 2017), with
    ``σ̂_i = sqrt(max(σ_i² − max(K, d) σ², 0))``: the noise energy per singular value of a
    ``K x d`` group, ``d = p p C``, which for multispectral patches is far above WNNM's
    ``K σ²``. For multispectral patches this is the low rank along the non-local mode of
    Chang et al. (CVPR 2017).

    Attributes:
        c: weight constant (traced, differentiable).
    """

    c: float = 2 * math.sqrt(2)


class TuckerPrior(NamedTuple):
    """HOSVD of the ``p x p x K`` group tensor (one channel) with the core hard-thresholded at
    ``κ σ``: a Tucker model whose ranks follow the noise level.

    Attributes:
        kappa: threshold in units of the noise level (traced).
    """

    kappa: float = 2.7


class CPPrior(NamedTuple):
    """A rank-``rank`` CP model of the ``p x p x K`` group tensor (one channel), fitted by
    :func:`lrjax.cp_als` from its SVD start (vmapped over groups).

    Attributes:
        rank: CP rank (static).
        maxiter: ALS sweeps (static).
    """

    rank: int = 4
    maxiter: int = 10


PRIORS = {"svt": WNNMPrior(), "tucker": TuckerPrior(), "cp": CPPrior()}


def _wnnm_shrink(s, hyper):
    sigma, n, energy, c = hyper
    excess = s**2 - energy * sigma**2
    above = excess > 0  # double where: the square root's derivative stays finite at 0
    clean = jnp.where(above, jnp.sqrt(jnp.where(above, excess, 1.0)), 0.0)
    return jnp.maximum(s - c * jnp.sqrt(n) * sigma**2 / (clean + 1e-8), 0.0)


def _svt_group(g, sigma, c):
    mean = jnp.mean(g, axis=0, keepdims=True)
    k, d = g.shape
    hyper = (sigma, jnp.asarray(k, g.dtype), jnp.asarray(max(k, d), g.dtype), c)
    # Through the Gram matrix in any dtype: the threshold is at the noise level, far above
    # sqrt(eps) of the group's norm, and batched small `eigh` beats batched SVD on CPU.
    return gram_singular_value_map(g - mean, _wnnm_shrink, hyper, any_dtype=True) + mean


def _group_tensor(g, patch):
    t = g.reshape(g.shape[0], patch, patch).transpose(1, 2, 0)
    mean = jnp.mean(t, axis=2, keepdims=True)
    return t - mean, mean


def _tucker_group(g, sigma, kappa, patch):
    t, mean = _group_tensor(g, patch)
    tucker = hosvd(t, t.shape)  # all ranks: the exact HOSVD, orthonormal factors
    core = jnp.where(jnp.abs(tucker.core) > kappa * sigma, tucker.core, 0.0)
    t = TuckerTensor(core, tucker.factors).to_dense() + mean
    return t.transpose(2, 0, 1).reshape(g.shape)


def _cp_group(g, rank, patch, maxiter):
    t, mean = _group_tensor(g, patch)
    cp = cp_als(t, rank, maxiter=maxiter, init="svd").cp
    return (cp.to_dense() + mean).transpose(2, 0, 1).reshape(g.shape)


@functools.partial(
    jax.jit, static_argnames=("patch", "stride", "window", "k", "batch", "kind", "static")
)
def _group_denoise(img, guide, sigma, params, *, patch, stride, window, k, batch, kind, static):
    h, w, ch = img.shape
    ph, pw = h - patch + 1, w - patch + 1
    idx = match(guide, patch, stride, window, k, batch)  # (n_ref, k)
    pats = patches(img, patch).reshape(ph * pw, patch * patch * ch)
    groups = pats[idx]  # (n_ref, k, p p C)
    if kind == "svt":
        den = jax.vmap(_svt_group, (0, None, None))(groups, sigma, params[0])
    elif kind == "tucker":
        den = jax.vmap(_tucker_group, (0, None, None, None))(groups, sigma, params[0], patch)
    else:
        rank, maxiter = static
        den = jax.vmap(lambda g: _cp_group(g, rank, patch, maxiter))(groups)
    return aggregate(den.reshape(-1, patch * patch, ch), idx, img.shape, patch, img)


def _prior(prior):
    if isinstance(prior, str):
        prior = PRIORS.get(prior, prior)
    if isinstance(prior, WNNMPrior):
        return "svt", (_checks.nonnegative("prior.c", prior.c),), None
    if isinstance(prior, TuckerPrior):
        return "tucker", (_checks.nonnegative("prior.kappa", prior.kappa),), None
    if isinstance(prior, CPPrior):
        rank = _checks.positive_int("prior.rank", prior.rank)
        return "cp", (), (rank, _checks.positive_int("prior.maxiter", prior.maxiter))
    raise ValueError(
        f"`prior` must be one of {tuple(PRIORS)} or a WNNMPrior, TuckerPrior or CPPrior, "
        f"got {prior!r}."
    )


def group_denoise(
    img: Float[Array, "H W *C"],
    guide: Float[Array, "H W *C2"] | None,
    sigma: float | Float[Array, ""],
    *,
    patch: int,
    stride: int,
    window: int,
    k: int,
    prior: str | WNNMPrior | TuckerPrior | CPPrior = "svt",
    batch: int = 256,
) -> Float[Array, "H W *C"]:
    """One pass of non-local group low-rank denoising.

    Groups of ``k`` similar ``patch x patch`` patches are matched on ``guide``
    (:func:`block_match`), each group of ``img``'s patches goes through the ``prior``'s
    low-rank step assuming noise level ``sigma``, and the results are averaged back
    (:func:`aggregate_patches`). Iterative schemes (WNNM's iterative regularization, the
    projection loops of compressed sensing) call it once per outer iteration.

    Args:
        img: image ``(H, W)`` or ``(H, W, C)`` to denoise.
        guide: image with the same height and width used for matching; ``None`` for
            ``img`` itself.
        sigma: noise level the group step assumes (traced, differentiable).
        patch, stride, window, k: patch side, reference grid step, search radius and group
            size (static); see :func:`block_match`.
        prior: ``"svt"`` (:class:`WNNMPrior`), ``"tucker"`` (:class:`TuckerPrior`), ``"cp"``
            (:class:`CPPrior`), or one of those objects with its options. The Tucker and CP
            priors need a one-channel image.
        batch: references matched at once (static, bounds memory).

    Returns:
        The estimate, the shape of ``img``. Differentiable with respect to ``img``,
        ``sigma`` and the prior's float options (the matching itself is discrete).

    Raises:
        ValueError: for non-image inputs, a ``guide`` of another size, a negative ``sigma``,
            an unknown prior, a Tucker or CP prior on a multichannel image, or options that
            do not fit the image.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> clean = jnp.outer(jnp.linspace(0, 1, 16), jnp.linspace(1, 2, 16))
        >>> noisy = clean + 0.05 * jax.random.normal(jax.random.key(0), clean.shape)
        >>> out = group_denoise(noisy, None, 0.05, patch=4, stride=2, window=3, k=12)
        >>> bool(jnp.linalg.norm(out - clean) < jnp.linalg.norm(noisy - clean))
        True

    References:
        S. Gu, Q. Xie, D. Meng, W. Zuo, X. Feng, L. Zhang, "Weighted nuclear norm minimization
        and its applications to low level vision", IJCV 121, 2017.
        Y. Chang, L. Yan, S. Zhong, "Hyper-Laplacian regularized unidirectional low-rank tensor
        recovery for multispectral image denoising", CVPR 2017.
    """
    img_in = _checks.as_array("img", img)
    x = image("img", img_in)
    g = x if guide is None else image("guide", guide)
    if g.shape[:2] != x.shape[:2]:
        raise ValueError(
            f"`guide` must have the height and width of `img` {x.shape[:2]}, got {g.shape[:2]}."
        )
    sigma = _checks.nonnegative("sigma", sigma)
    kind, params, static = _prior(prior)
    if kind != "svt" and x.shape[2] != 1:
        raise ValueError(f"prior {kind!r} needs a one-channel image, got {x.shape[2]} channels.")
    patch, stride, window, k, batch = match_args(g, patch, stride, window, k, batch)
    dtype = x.dtype
    out = _group_denoise(
        x,
        g.astype(dtype),
        jnp.asarray(sigma, dtype),
        tuple(jnp.asarray(p, dtype) for p in params),
        patch=patch,
        stride=stride,
        window=window,
        k=k,
        batch=batch,
        kind=kind,
        static=static,
    )
    return out if img_in.ndim == 3 else out[..., 0]
