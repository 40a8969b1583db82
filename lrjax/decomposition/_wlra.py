"""Weighted (and regularized) low-rank approximation."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from .._sharding import partitioned
from ..linalg._small import spd_inverse
from ..linalg._svd import svd_flip
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import LowRankMatrix


class WLRAResult(NamedTuple):
    """Result of :func:`wlra`: the low-rank approximation and its :class:`SolverInfo`."""

    approx: LowRankMatrix
    info: SolverInfo


def _weighted_error(m, w, x):
    return relative(jnp.sum(w * (m - x) ** 2), jnp.sum(w * m * m))


def _truncate(x, rank):
    u, s, vt = jnp.linalg.svd(x, full_matrices=False)
    u, vt = svd_flip(u[:, :rank], vt[:rank])
    return u, s[:rank], vt


def _canonical(u_fac, v_fac):
    """SVD form ``(u, s, vt)`` of ``u_fac @ v_fac.T`` through two thin QRs."""
    qu, ru = jnp.linalg.qr(u_fac)
    qv, rv = jnp.linalg.qr(v_fac)
    a, s, bt = jnp.linalg.svd(ru @ rv.T)
    u, vt = svd_flip(qu @ a, bt @ qv.T)
    return LowRankMatrix(u, s, vt)


def _em(m, w, rank, tol, maxiter, diff):
    def step(x, params):
        m, w = params
        u, s, vt = _truncate(w * m + (1 - w) * x, rank)
        x_new = (u * s) @ vt
        return x_new, _weighted_error(m, w, x_new)

    x0 = (lambda u, s, vt: (u * s) @ vt)(*_truncate(w * m, rank))
    x, info = iterate(step, x0, (m, w), maxiter=maxiter, tol=tol, diff=diff)
    return WLRAResult(LowRankMatrix(*_truncate(x, rank)), info)


def _row_solve(m, w, fixed, reg):
    """Rows of argmin_U ||sqrt(W) o (M - U F^T)||^2 + reg ||U||^2, one R x R system each."""
    rank = fixed.shape[1]
    grams = jnp.einsum("ij,jr,js->irs", w, fixed, fixed) + reg * jnp.eye(rank, dtype=m.dtype)
    rhs = (w * m) @ fixed
    return jnp.einsum("irs,is->ir", jax.vmap(spd_inverse)(grams), rhs)


def _als(m, w, rank, reg, tol, maxiter, diff):
    u0, s0, vt0 = _truncate(w * m, rank)

    def step(factors, params):
        m, w, reg = params
        _, v = factors
        u = _row_solve(m, w, v, reg)
        v = _row_solve(m.T, w.T, u, reg)
        return (u, v), _weighted_error(m, w, u @ v.T)

    (u, v), info = iterate(
        step,
        (u0 * jnp.sqrt(s0), vt0.T * jnp.sqrt(s0)),
        (m, w, reg),
        maxiter=maxiter,
        tol=tol,
        diff=diff,
    )
    return WLRAResult(_canonical(u, v), info)


@functools.partial(jax.jit, static_argnames=("rank", "method", "maxiter", "diff"))
def _wlra(m, w, reg, tol, *, rank, method, maxiter, diff):
    w = w.astype(m.dtype)
    if method == "em":
        return _em(m, w, rank, tol, maxiter, diff)
    return _als(m, w, rank, reg, tol, maxiter, diff)


def wlra(
    m: Float[Array, "m n"],
    weights: Float[Array, "m n"],
    rank: int,
    *,
    reg: float = 0.0,
    method: str = "als",
    tol: float = 1e-10,
    maxiter: int = 500,
    diff: str | None = None,
) -> WLRAResult:
    r"""Weighted low-rank approximation.

    .. math:: \min_{U \in \mathbb{R}^{m\times r}, V \in \mathbb{R}^{n\times r}}
       \|W \circ (M - U V^\top)\|_F^2 + \lambda (\|U\|_F^2 + \|V\|_F^2)

    written with the weights entering squared residuals linearly:
    :math:`\sum_{ij} W_{ij} (M - UV^\top)_{ij}^2`.

    * ``method="als"``: alternating weighted least squares, every row of ``U`` (then ``V``)
      solving its own ``r x r`` ridge system (real weights, any ``reg``).
    * ``method="em"`` (0/1 or [0, 1] weights, ``reg = 0``): Srebro & Jaakkola's EM,
      ``X ← LR_r(W ∘ M + (1 − W) ∘ X)``, monotone in the weighted error.

    Both start from the truncated SVD of ``W ∘ M`` and stop when the relative weighted error
    ``sqrt(Σ W (M − X)² / Σ W M²)`` changes by less than ``tol``. With all-ones weights and
    ``reg = 0`` the minimiser is the truncated SVD (Eckart-Young).

    Args:
        m: data ``(m, n)``.
        weights: non-negative weights of the same shape (0 marks a missing entry).
        rank: ``r`` (static).
        reg: ridge weight :math:`\lambda` (``method="als"``).
        method: ``"als"`` or ``"em"`` (static).
        tol: tolerance on the change of the relative weighted error.
        maxiter: maximum iterations (static).
        diff: ``"implicit"`` or ``"unroll"``; default ``"implicit"`` for EM (its iterate
            ``X`` is an isolated fixed point) and ``"unroll"`` for ALS (its factors are
            defined only up to an invertible ``r x r`` transform, so the fixed point is not
            isolated).

    Returns:
        ``WLRAResult(approx, info)``: ``approx`` a :class:`~lrjax.LowRankMatrix` in SVD form.

    Raises:
        ValueError: for mismatched shapes, negative weights or NaN in an eager call (in
            ``m`` only where its weight is positive: NaN may mark the entries of weight 0), a
            rank out of range, ``reg > 0`` with EM, or bad options.

    References:
        N. Srebro and T. Jaakkola, "Weighted low-rank approximations", ICML 2003.
    """
    m = _checks.as_array("m", m, ndim=2, check_finite=False)
    weights = _checks.as_array("weights", weights, ndim=2)
    if weights.shape != m.shape:
        raise ValueError(f"`weights` must have the shape of `m` {m.shape}, got {weights.shape}.")
    m = _checks.zero_unobserved("m", m, weights > 0)  # NaN may mark entries of weight 0
    if _checks.is_concrete(weights):
        w_min, w_max = _checks.concrete_value(lambda w: (jnp.min(w), jnp.max(w)), weights)
        if w_min < 0:
            raise ValueError(f"`weights` must be non-negative, got minimum {float(w_min)}.")
        if w_max == 0:
            raise ValueError("`weights` must not be all zero (nothing would be fitted).")
    rank = _checks.positive_int("rank", rank)
    if rank > min(m.shape):
        raise ValueError(f"`rank` must be at most min(m.shape) = {min(m.shape)}, got {rank}.")
    method = _checks.choice("method", method, ("als", "em"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    if diff is None:
        diff = "implicit" if method == "em" else "unroll"
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    reg = _checks.nonnegative("reg", reg)
    if method == "em" and _checks.is_concrete(reg) and float(reg) != 0.0:
        raise ValueError(f"`reg` must be 0 with method='em', got {reg!r}; use method='als'.")
    return partitioned(
        _wlra, m, weights, reg, tol, rank=rank, method=method, maxiter=maxiter, diff=diff
    )
