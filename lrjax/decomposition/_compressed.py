"""Matrix NMF, and factorization of compressively sensed data (Sharan, Tai, Bailis & Valiant,
"Compressed factorization: fast and accurate low-rank factorization of compressively-sensed
data", ICML 2019)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative, relative_error
from .._sharding import partitioned
from ..linalg._sketches import SKETCH_TYPES
from ..linalg._spectral import svd_guarded
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ._common import hals_columns, safe_norms


class NMFResult(NamedTuple):
    """Result of :func:`nmf`: ``m ≈ w @ h`` with ``w, h >= 0``, and :class:`SolverInfo`."""

    w: Array
    h: Array
    info: SolverInfo


class SparsePCAResult(NamedTuple):
    """Result of :func:`sparse_pca`: ``m ≈ w @ h`` with sparse loadings ``w`` and orthonormal
    rows of ``h``, and :class:`SolverInfo`."""

    w: Array
    h: Array
    info: SolverInfo


class CompressedFactorizationResult(NamedTuple):
    """Result of :func:`compressed_factorization`.

    Attributes:
        w: the recovered ``(d, rank)`` factor of the uncompressed data (``M ≈ w @ h``).
        h: the ``(rank, n)`` factor, shared by the compressed and uncompressed models.
        w_compressed: the ``(d', rank)`` factor of the compressed data (``Y ≈ w_compressed @
            h``).
        info: the compressed factorization's :class:`SolverInfo` (its ``error`` is the
            relative error of ``Y``).
        recovery_residual: ``||P w - w_compressed||_F / ||w_compressed||_F``.
    """

    w: Array
    h: Array
    w_compressed: Array
    info: SolverInfo
    recovery_residual: Array


def _nonneg_init(key, shape, scale, dtype):
    return _random.uniform(key, shape, dtype=dtype, minval=0.1, maxval=1.0) * scale


def _error(norm_sq, fit, model):
    """Relative error from ``||M||^2 - 2 tr(W^T M H^T) + tr(W^T W H H^T)``: a diagnostic,
    so no derivative (its square root at a cancellation-clipped zero would give NaN)."""
    residual = jax.lax.stop_gradient(jnp.maximum(norm_sq - 2 * fit + model, 0.0))
    return relative(residual, jax.lax.stop_gradient(norm_sq))


def _balance(w, ht):
    """Unit-norm columns of ``W``, their norms moved to ``H``: the product is unchanged and
    the fixed point of the sweep is isolated (no scaling direction), which the implicit
    derivative needs."""
    norms = safe_norms(w)
    return w / norms, ht * norms


def _nmf_sweep(factors, data):
    """One HALS sweep: the columns of ``W``, then the rows of ``H`` (as columns of ``H^T``)."""
    w, ht = factors
    m, norm_sq = data
    w, ht = _balance(hals_columns(w, m @ ht, ht.T @ ht), ht)
    ht = hals_columns(ht, m.T @ w, w.T @ w)
    fit = jnp.sum((w.T @ m) * ht.T)  # tr(W^T M H^T)
    model = jnp.sum((w.T @ w) * (ht.T @ ht))
    return (w, ht), _error(norm_sq, fit, model)


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff"))
def _nmf(m, key, tol, start=None, *, rank, maxiter, diff):
    if start is not None:  # a warm start (W, H)
        w0, ht0 = start[0], start[1].T
    else:
        k1, k2 = jax.random.split(key)
        scale = jnp.sqrt(jnp.maximum(jnp.mean(m), jnp.finfo(m.dtype).tiny) / rank)
        w0 = _nonneg_init(k1, (m.shape[0], rank), scale, m.dtype)
        ht0 = _nonneg_init(k2, (m.shape[1], rank), scale, m.dtype)
    (w, ht), info = iterate(
        _nmf_sweep, (w0, ht0), (m, jnp.sum(m * m)), maxiter=maxiter, tol=tol, diff=diff
    )
    error = relative_error(m, w @ ht.T)
    return NMFResult(
        w, ht.T, info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    )


def _nonneg_matrix(name, m):
    m = _checks.as_array(name, m, ndim=2)
    if _checks.is_concrete(m) and bool(jnp.any(m < 0)):
        raise ValueError(
            f"`{name}` must be non-negative for NMF, got a minimum of {float(jnp.min(m))}."
        )
    return m


def nmf(
    m: Float[Array, "d n"],
    rank: int,
    *,
    key: jax.Array | None = None,
    init: str | tuple[Array, Array] = "random",
    maxiter: int = 500,
    tol: float | Array = 1e-8,
    diff: str = "unroll",
) -> NMFResult:
    r"""Non-negative matrix factorization by HALS (hierarchical alternating least squares).

    .. math:: \min_{W \ge 0, H \ge 0} \|M - W H\|_F^2

    Each sweep updates the columns of ``W`` and then the rows of ``H`` one at a time, each by
    its exact projected least-squares step (Cichocki & Phan 2009; the ``"cd"`` solver of
    scikit-learn's ``NMF``); the columns of ``W`` come out with unit norm, their scale in
    ``H``. Random non-negative start scaled to ``M``'s mean, as
    scikit-learn's ``init="random"``.

    Args:
        m: non-negative matrix ``(d, n)``.
        rank: number of components (static).
        key: PRNG key of the random start (required for ``init="random"``).
        init: ``"random"`` (default) or a warm start ``(W, H)`` of non-negative matrices of
            shapes ``(d, rank)`` and ``(rank, n)``, e.g. an earlier :class:`NMFResult`
            (scikit-learn's ``init="custom"``); traced, so a new start does not recompile.
        maxiter: maximum number of sweeps (static).
        tol: stop when the relative error changes by less than this (traced).
        diff: ``"unroll"`` (default: differentiates the sweeps that ran) or ``"implicit"``
            (the implicit function theorem at the fixed point, as in :func:`cp_als`; only
            defined when the NMF is essentially unique, i.e. sparse enough factors: a dense
            positive NMF has a continuum of equally good factor pairs, and its implicit
            derivative comes out NaN).

    Returns:
        ``NMFResult(w, h, info)`` with ``info.error`` the relative error
        ``||M - W H||_F / ||M||_F``.

    Raises:
        ValueError: for a non-matrix, NaN/inf or (eagerly) a negative entry in ``m``, a bad
            ``rank`` / ``maxiter`` / ``tol`` / ``diff``, an invalid ``key``, or a warm start
            of the wrong shapes or with a negative or non-finite entry.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> m = jnp.outer(jnp.arange(1.0, 4.0), jnp.arange(1.0, 5.0))
        >>> res = nmf(m, 1, key=jax.random.key(0))
        >>> bool(res.info.error < 1e-5)
        True
        >>> more = nmf(m, 1, init=(res.w, res.h), maxiter=10)  # a warm start: no key
    """
    m = _nonneg_matrix("m", m)
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    start = None
    if isinstance(init, str):
        _checks.choice("init", init, ("random",))
        if key is None:
            raise ValueError(
                "`key` must be a PRNG key when init='random' (or give a warm start `init=(W, "
                "H)`), got None."
            )
    else:
        start = _nmf_start(init, m, rank)
    if key is not None:
        key = _checks.prng_key("key", key)
    return partitioned(_nmf, m, key, tol, start, rank=rank, maxiter=maxiter, diff=diff)


def _nmf_start(init, m: Array, rank: int) -> tuple[Array, Array]:
    """The warm start ``(W, H)`` of :func:`nmf`, checked against ``m`` and ``rank``."""
    if not isinstance(init, tuple | list) or len(init) < 2:
        raise ValueError(f"`init` must be 'random' or a pair (W, H), got {type(init).__name__}.")
    w, h = (_checks.as_array(f"init[{k}]", a, ndim=2) for k, a in enumerate(init[:2]))
    want = ((m.shape[0], rank), (rank, m.shape[1]))
    if (w.shape, h.shape) != want:
        raise ValueError(
            f"`init` must be (W, H) of shapes {want[0]} and {want[1]}, got {w.shape} and {h.shape}."
        )
    for k, a in enumerate((w, h)):
        if _checks.is_concrete(a) and float(_checks.concrete_value(jnp.min, a)) < 0:
            raise ValueError(f"`init[{k}]` must be non-negative, got a negative entry.")
    return w.astype(m.dtype), h.astype(m.dtype)


def _soft(x, t):
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - t, 0.0)


def _polar_rows(a):
    """The ``(r, n)`` matrix with orthonormal rows closest to ``a`` (``U V^T`` of its SVD)."""
    u, _, vt = svd_guarded(a)
    return u @ vt


def _spca_sweep(h, data):
    """``W = soft(M H^T, lam / 2)`` (exact for orthonormal rows of ``H``), then
    ``H = polar(W^T M)``; the error is the penalised objective relative to ``||M||^2``."""
    m, lam, norm_sq = data
    w = _soft(m @ h.T, 0.5 * lam)
    h = _polar_rows(w.T @ m)
    fit = jnp.sum((w.T @ m) * h)
    objective = norm_sq - 2 * fit + jnp.sum(w * w) + lam * jnp.sum(jnp.abs(w))
    return h, jax.lax.stop_gradient(relative(jnp.maximum(objective, 0.0), norm_sq))


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff"))
def _sparse_pca(m, reg, tol, *, rank, maxiter, diff):
    _, s, vt = svd_guarded(m)
    h0 = vt[:rank]
    lam = reg * s[0] * jnp.max(jnp.abs(vt[0]))  # reg * (a scale of the largest loading)
    h, info = iterate(
        _spca_sweep, h0, (m, lam, jnp.sum(m * m)), maxiter=maxiter, tol=tol, diff=diff
    )
    w = _soft(m @ h.T, 0.5 * lam)
    error = relative_error(m, w @ h)
    return SparsePCAResult(
        w, h, info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    )


def sparse_pca(
    m: Float[Array, "d n"],
    rank: int,
    *,
    reg: float | Array = 0.1,
    maxiter: int = 200,
    tol: float | Array = 1e-10,
    diff: str = "unroll",
) -> SparsePCAResult:
    r"""Sparse PCA: sparse loadings ``W`` and orthonormal components ``H``.

    .. math:: \min_{W,\; H H^\top = I} \|M - W H\|_F^2 + \lambda \|W\|_1

    (the matrix form of Zou, Hastie & Tibshirani's SPCA criterion). Alternating exact steps:
    for orthonormal rows of ``H``, ``W = soft(M H^T, λ/2)``; for fixed ``W``, ``H`` is the
    orthonormal-row matrix closest to ``W^T M`` (the polar factor of an ``r x n`` SVD). Starts
    from the leading right singular vectors, so ``reg = 0`` gives the truncated SVD. ``λ =
    reg · σ_1 · max|v_1|`` (``reg`` in [0, 1) scales the largest loading's size).

    Args:
        m: matrix ``(d, n)``; rows are the variables whose loadings ``W`` are sparse.
        rank: number of components (static).
        reg: relative ``λ`` (traced; ``reg >= 1`` zeroes every loading).
        maxiter: maximum sweeps (static).
        tol: stop when the relative penalised objective changes by less (traced).
        diff: ``"unroll"`` (default) or ``"implicit"``.

    Returns:
        ``SparsePCAResult(w, h, info)``; ``info.error`` is ``||M - W H||_F / ||M||_F``.

    Raises:
        ValueError: for a non-matrix or non-finite ``m``, ``rank`` above ``min(m.shape)``, a
            negative ``reg``, or a bad ``maxiter`` / ``tol`` / ``diff``.

    References:
        H. Zou, T. Hastie, R. Tibshirani, "Sparse principal component analysis", J. Comput.
        Graph. Stat. 15(2), 2006.
    """
    m = _checks.as_array("m", m, ndim=2)
    rank = _checks.positive_int("rank", rank)
    if rank > min(m.shape):
        raise ValueError(f"`rank` must be at most min(m.shape) = {min(m.shape)}, got {rank}.")
    if _checks.is_concrete(reg) and not float(reg) >= 0:
        raise ValueError(f"`reg` must be non-negative, got {reg!r}.")
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    reg = jnp.asarray(reg, m.dtype)
    return partitioned(_sparse_pca, m, reg, tol, rank=rank, maxiter=maxiter, diff=diff)


def _semi_nmf_sweep(factors, data):
    """One HALS sweep of the NMF ``Y ≈ W~ H`` (``W~ = P W >= 0`` for a non-negative ``P``)."""
    wt, ht = factors
    y, norm_sq = data
    wt, ht = _balance(hals_columns(wt, y @ ht, ht.T @ ht), ht)
    ht = hals_columns(ht, y.T @ wt, wt.T @ wt)
    fit = jnp.sum((wt.T @ y) * ht.T)
    model = jnp.sum((wt.T @ wt) * (ht.T @ ht))
    return (wt, ht), _error(norm_sq, fit, model)


def _apply(p, x):
    """``P @ x`` for a dense ``P`` or a sketch."""
    return p.apply(x) if isinstance(p, SKETCH_TYPES) else p @ x


def _apply_t(p, y):
    """``P^T @ y`` for a dense ``P`` or a sketch."""
    return p.apply_transpose(y) if isinstance(p, SKETCH_TYPES) else p.T @ y


def _operator_norm(p, n: int, dtype, n_iter: int = 30):
    """``||P||_2`` by power iteration on ``P^T P`` (deterministic start, from below)."""
    v = jnp.cos(jnp.arange(n, dtype=dtype) + 1.0)[:, None]
    tiny = jnp.finfo(dtype).tiny

    def body(_, v):
        w = _apply_t(p, _apply(p, v))
        return w / jnp.maximum(jnp.linalg.norm(w), tiny)

    v = jax.lax.fori_loop(0, n_iter, body, v / jnp.linalg.norm(v))
    return jnp.linalg.norm(_apply(p, v))


def _recover(p, wt, reg, iters, nonneg=True):
    """``argmin_{W >= 0} 1/2 ||P W - W~||_F^2 + reg ||W||_1`` by FISTA with the step
    ``1 / L``, ``L = 1.05 ||P||_2^2`` (the columns are independent problems that share the
    step; ``||P||_2`` by 30 power iterations, which approach it from below: the 5 % margin
    keeps the step safe without a full SVD of ``P``)."""
    n = p.shape[1]
    lip = 1.05 * _operator_norm(p, n, wt.dtype) ** 2
    step = 1.0 / jnp.maximum(lip, jnp.finfo(wt.dtype).tiny)
    scaled = reg * jnp.max(jnp.abs(_apply_t(p, wt)), axis=0, keepdims=True)  # reg * lam_max
    w0 = jnp.zeros((n, wt.shape[1]), wt.dtype)

    def body(_, state):
        w, z, t = state
        grad = _apply_t(p, _apply(p, z) - wt)
        x = z - step * grad
        w_next = jnp.maximum(x - step * scaled, 0.0) if nonneg else _soft(x, step * scaled)
        t_next = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        z = w_next + ((t - 1.0) / t_next) * (w_next - w)
        return w_next, z, t_next

    w, _, _ = jax.lax.fori_loop(0, iters, body, (w0, w0, jnp.asarray(1.0, wt.dtype)))
    return w


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff", "recovery_iters", "method"))
def _compressed(y, p, key, tol, reg, *, rank, maxiter, diff, recovery_iters, method):
    if method == "sparse_pca":
        # PCA of Y: W~ = Y V_r, H = V_r^T (orthonormal rows); W~ = P W is dense, W is sparse.
        u, s, vt = svd_guarded(y)
        ht, wt = vt[:rank].T, u[:, :rank] * s[:rank]
        error = relative_error(y, wt @ ht.T)
        history = jnp.full((maxiter,), jnp.nan, error.dtype).at[0].set(error)  # one step
        info = SolverInfo(jnp.array(1, jnp.int32), error, jnp.isfinite(error), history)
        w = _recover(p, wt, reg, recovery_iters, nonneg=False)
        residual = jnp.linalg.norm(_apply(p, w) - wt) / jnp.maximum(
            jnp.linalg.norm(wt), jnp.finfo(y.dtype).tiny
        )
        return CompressedFactorizationResult(w, ht.T, wt, info, residual)
    k1, k2 = jax.random.split(key)
    scale = jnp.sqrt(jnp.maximum(jnp.mean(jnp.abs(y)), jnp.finfo(y.dtype).tiny) / rank)
    wt0 = _nonneg_init(k1, (y.shape[0], rank), scale, y.dtype)
    ht0 = _nonneg_init(k2, (y.shape[1], rank), scale, y.dtype)
    (wt, ht), info = iterate(
        _semi_nmf_sweep, (wt0, ht0), (y, jnp.sum(y * y)), maxiter=maxiter, tol=tol, diff=diff
    )
    error = relative_error(y, wt @ ht.T)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    w = _recover(p, wt, reg, recovery_iters)
    residual = jnp.linalg.norm(_apply(p, w) - wt) / jnp.maximum(
        jnp.linalg.norm(wt), jnp.finfo(y.dtype).tiny
    )
    return CompressedFactorizationResult(w, ht.T, wt, info, residual)


def compressed_factorization(
    y: Float[Array, "dc n"],
    p: Any,
    rank: int,
    *,
    key: jax.Array,
    method: str = "nmf",
    reg: float | Array = 1e-3,
    maxiter: int = 500,
    tol: float | Array = 1e-8,
    recovery_iters: int = 500,
    diff: str = "unroll",
) -> CompressedFactorizationResult:
    r"""Factorize data seen only through a random compression, then recover the sparse factor.

    The data ``M = W H`` (``d x n``, ``W`` sparse and non-negative, ``H >= 0``) is observed as
    ``Y = P M`` for a known ``P`` (``d' x d``, ``d' < d``). Following Sharan et al. (ICML
    2019), ``Y`` is factorized directly, by NMF (HALS) ``Y ≈ W~ H`` with ``W~, H >= 0``: ``P``
    must be non-negative (e.g. a sparse non-negative sketch), so that ``W~ = P W`` is; a
    Gaussian ``P`` would leave ``W~`` unconstrained and the factorization of ``Y`` far from
    unique. Each column of ``W`` is then recovered by sparse recovery,

    .. math:: W = \arg\min_{W \ge 0} \tfrac12 \|P W - \tilde W\|_F^2 + \lambda \|W\|_1,

    solved by FISTA (``recovery_iters`` steps of ``1 / ||P||_2^2``), with ``λ = reg ·
    ||Pᵀ w̃_i||_∞`` per column (the smallest ``λ`` that zeroes a column, times ``reg``).
    ``M ≈ W H`` then holds with the same ``H``; factorizing the small ``Y`` is the saving.

    Args:
        y: compressed data ``(d', n)``.
        p: the compression ``(d', d)``: a matrix, or a sketch of :mod:`lrjax.linalg`
            (``CountSketch``, ``SparseSignSketch``, ...), applied without forming it (a
            sparse ``P`` then costs ``O(nnz)`` per product).
        rank: number of components (static).
        key: PRNG key of the random start.
        method: ``"nmf"`` (non-negative ``W`` and ``H``: NMF of ``Y``, non-negative
            recovery) or ``"sparse_pca"`` (sparse signed ``W``, orthonormal rows of ``H``:
            PCA of ``Y``, signed LASSO recovery; ``maxiter``, ``tol``, ``diff`` and ``key``
            are then unused, ``info`` reports the one SVD).
        reg: relative ``λ`` of the recovery (``0 <= reg < 1``; traced).
        maxiter: maximum sweeps of the compressed factorization (static).
        tol: its stopping tolerance (traced).
        recovery_iters: FISTA steps of the recovery (static).
        diff: ``"unroll"`` (default) or ``"implicit"`` for the factorization, as in
            :func:`nmf`; the recovery is differentiated through its FISTA steps.

    Returns:
        :class:`CompressedFactorizationResult` ``(w, h, w_compressed, info,
        recovery_residual)``.

    Raises:
        ValueError: for non-matrix or non-finite ``y`` / ``p``, (eagerly) a negative entry of
            ``y`` with ``method="nmf"``, ``p`` whose rows differ from
            ``y``'s, a bad ``rank`` / ``reg`` / iteration count / ``method`` / ``diff``, or
            an invalid ``key``.

    References:
        V. Sharan, K. S. Tai, P. Bailis, G. Valiant, "Compressed factorization: fast and
        accurate low-rank factorization of compressively-sensed data", ICML 2019.
    """
    y = _checks.as_array("y", y, ndim=2)
    method = _checks.choice("method", method, ("nmf", "sparse_pca"))
    if method == "nmf":
        y = _nonneg_matrix("y", y)
    if not isinstance(p, SKETCH_TYPES):
        p = _checks.as_array("p", p, ndim=2)
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"`p` must have as many rows as `y` ({y.shape[0]}), got shape {p.shape}.")
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    recovery_iters = _checks.positive_int("recovery_iters", recovery_iters)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.prng_key("key", key)
    if _checks.is_concrete(reg) and not 0.0 <= float(reg) < 1.0:
        raise ValueError(f"`reg` must lie in [0, 1), got {reg!r}.")
    reg = jnp.asarray(reg, y.dtype)
    return partitioned(
        _compressed, y, p, key, tol, reg, rank=rank, maxiter=maxiter, diff=diff,
        recovery_iters=recovery_iters, method=method,
    )  # fmt: skip
