"""TLISD (Shakeri & Zhang, CVPR 2019): tensor low rank + invariant sparse + illumination.

A video seen in several representations (raw intensity and illumination-invariant maps) is a
tensor ``D`` of shape ``(pixels, frames, representations)``. A moving object occupies the
same pixels in every representation, so the foreground tube ``S[i, j, :]`` is group-sparse
(the ``l_{1,1,2}`` norm); the background is low rank across frames in every representation
(the t-SVD tensor nuclear norm along the representation mode); a change of illumination is
dense, correlated and small, which the squared k-support norm of each frame's column models
(between the squared ``l1`` and ``l2`` norms).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from ..prox import prox_group_l21, prox_ksupport_sq, prox_tensor_nuclear
from ..solvers import SolverInfo, iterate


class TLISDResult(NamedTuple):
    """Result of :func:`tlisd`: ``low_rank + sparse + illumination`` reconstructs the input;
    ``info`` reports the relative constraint residual."""

    low_rank: Array
    sparse: Array
    illumination: Array
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("maxiter",))
def _tlisd(d, weights, lam_sparse, lam_illum, k, rho, mu0, tol, *, maxiter):
    norm_d_sq = jnp.sum(d * d)

    def step(state, params):
        # the traced inputs travel as params: iterate differentiates through them
        d, weights, lam_sparse, lam_illum, k, rho, mu_max = params
        low, sparse, illum, w, mu = state  # w: scaled dual Y / mu
        low = prox_tensor_nuclear(d - sparse - illum + w, 1.0, 1.0 / mu)
        sparse = prox_group_l21(d - low - illum + w, lam_sparse * weights, 1.0 / mu, axis=-1)
        cols = jnp.moveaxis(d - low - sparse + w, 0, -1)  # one k-support prox per column
        illum = jnp.moveaxis(prox_ksupport_sq(cols, (lam_illum, k), 1.0 / mu), -1, 0)
        residual = d - low - sparse - illum
        mu_next = jnp.minimum(rho * mu, mu_max)
        w = (w + residual) * (mu / mu_next)
        return (low, sparse, illum, w, mu_next), relative(jnp.sum(residual**2), norm_d_sq)

    zeros = jnp.zeros_like(d)
    state0 = (zeros, zeros, zeros, zeros, mu0)
    (low, sparse, illum, _, _), info = iterate(
        step,
        state0,
        (d, weights, lam_sparse, lam_illum, k, rho, mu0 * 1e7),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        criterion="value",
    )
    return TLISDResult(low, sparse, illum, info)


def tlisd(
    d: Float[Array, "p t r"],
    *,
    weights: Float[Array, "p t"] | None = None,
    lam_sparse: float | None = None,
    lam_illum: float = 1.0,
    k: int | None = None,
    rho: float = 1.5,
    mu: float | None = None,
    tol: float = 1e-6,
    maxiter: int = 300,
) -> TLISDResult:
    r"""Tensor low-rank and invariant sparse decomposition (TLISD, Shakeri & Zhang, CVPR 2019).

    .. math:: \min_{\mathcal{L}, \mathcal{S}, \mathcal{C}} \|\mathcal{L}\|_*
       + \lambda_1 \|W \odot \mathcal{S}\|_{1,1,2}
       + \lambda_2 \sum_{j, r} (\|\mathcal{C}_{:, j, r}\|_k^{sp})^2
       \quad \text{s.t.} \quad \mathcal{D} = \mathcal{L} + \mathcal{S} + \mathcal{C}

    ``D`` is ``(pixels, frames, representations)``: every frontal slice ``D[:, :, r]`` is the
    video (one frame per column) in one representation (e.g. the intensity and
    illumination-invariant maps of it). ``‖L‖_*`` is the t-SVD tensor nuclear norm along the
    representation mode, ``‖S‖_{1,1,2} = Σ_{i,j} ‖S_{i,j,:}‖_2`` makes a foreground pixel
    sparse in all representations at once, and the squared k-support norm of each column of
    ``C`` takes dense, small, spatially correlated changes (illumination) that neither a low
    rank nor a sparse term explains. Inexact ALM with a growing penalty (``μ ← ρ μ``):
    tensor SVT (:func:`lrjax.prox.prox_tensor_nuclear`), group soft thresholding
    (:func:`lrjax.prox.prox_group_l21`) and the k-support prox
    (:func:`lrjax.prox.prox_ksupport_sq`), each exact.

    Args:
        d: real tensor ``(pixels, frames, representations)``; one representation is allowed
            (then ``L`` is plain nuclear-norm low rank).
        weights: non-negative ``(pixels, frames)`` weights of the tubes' group norms (default
            all ones); lower them where a prior map says objects move, as for
            :func:`illumination_robust_pca`.
        lam_sparse: ``λ_1``; default ``1/sqrt(max(pixels, frames))``.
        lam_illum: ``λ_2 > 0``; larger keeps less in ``C``.
        k: the k-support parameter, an integer in ``[1, pixels]``; default ``pixels // 10``
            (at least 1): about how many pixels one illumination change covers.
        rho: penalty growth factor, ``> 1``.
        mu: initial penalty; default ``1.25 / ‖D_(unfolded)‖_2`` (Lin et al.'s choice).
        tol: tolerance on ``‖D − L − S − C‖_F / ‖D‖_F``.
        maxiter: maximum iterations (static).

    Returns:
        ``TLISDResult(low_rank, sparse, illumination, info)``: the foreground of pixel ``i`` in
        frame ``j`` is ``‖sparse[i, j, :]‖_2``; the background is ``low_rank + illumination``.
        Differentiable (reverse mode through the iterations) and batchable with ``vmap``.

    Raises:
        ValueError: for a non-3-way or non-finite (eager) ``d``, or bad options.

    Examples:
        >>> import jax.numpy as jnp
        >>> bg = jnp.outer(jnp.linspace(0.2, 0.8, 40), jnp.ones(12))  # a static scene
        >>> d = jnp.stack([bg, 0.5 * bg], axis=-1).at[5, 3, :].add(1.0)  # one moving pixel
        >>> r = tlisd(d)
        >>> bool(r.info.converged), int(jnp.argmax(jnp.linalg.norm(r.sparse, axis=-1)))
        (True, 63)

    References:
        M. Shakeri, H. Zhang, "Moving object detection under discontinuous change in
        illumination using tensor low-rank and invariant sparse decomposition", CVPR 2019.
        A. Argyriou, R. Foygel, N. Srebro, "Sparse prediction with the k-support norm",
        NeurIPS 2012.
    """
    d = _checks.as_array("d", d, ndim=3)
    p, t, _ = d.shape
    lam_sparse = _checks.positive("lam_sparse", lam_sparse)
    lam_illum = _checks.positive("lam_illum", lam_illum)
    if k is None:
        k = max(1, p // 10)
    k = _checks.positive_int("k", k)
    if k > p:
        raise ValueError(f"`k` must be at most the number of pixels {p}, got {k}.")
    _checks.scalar("rho", rho, lambda v: v > 1, "greater than 1 (the penalty must grow)")
    mu = _checks.positive("mu", mu)
    tol = _checks.tolerance(tol)
    maxiter = _checks.positive_int("maxiter", maxiter)
    if weights is None:
        weights = jnp.ones((p, t), d.dtype)
    weights = _checks.as_array("weights", weights, ndim=2)
    if weights.shape != (p, t):
        raise ValueError(
            f"`weights` must have shape (pixels, frames) = {(p, t)}, got {weights.shape}."
        )
    if _checks.is_concrete(weights) and bool(_checks.concrete_value(jnp.any, weights < 0)):
        raise ValueError("`weights` must be non-negative, got a negative entry.")
    dtype = jnp.result_type(d, weights)
    d = d.astype(dtype)
    if lam_sparse is None:
        lam_sparse = 1.0 / math.sqrt(max(p, t))
    mu0 = mu
    if mu0 is None:
        norm2 = jnp.linalg.norm(d.reshape(p, -1), 2)
        mu0 = 1.25 / jnp.where(norm2 > 0, norm2, 1.0)
    return _tlisd(
        d,
        weights.astype(dtype)[..., None],
        jnp.asarray(lam_sparse, dtype),
        jnp.asarray(lam_illum, dtype),
        k,
        jnp.asarray(rho, dtype),
        jnp.asarray(mu0, dtype),
        tol,
        maxiter=maxiter,
    )
