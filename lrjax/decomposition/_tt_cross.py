"""Tensor train by cross approximation (TT-cross): a TT interpolating a tensor on index sets
chosen by the maximum-volume principle, from ``O(N n r^2)`` entries per sweep, never the whole
tensor (TensorLy's ``tensor_train_cross``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from ..solvers._info import SolverInfo
from ..tensors import TTTensor, tt_inner
from ._tt_oi import TTResult


def _maxvol(a: Array, *, tol: float = 1.05, maxiter: int = 100) -> Array:
    """Rows of the tall ``(n, r)`` matrix ``a`` spanning a dominant (locally maximal volume)
    ``r x r`` submatrix: every entry of ``a a[rows]^{-1}`` is at most ``tol`` in modulus
    (Goreinov, Oseledets, Savostyanov, Tyrtyshnikov & Zamarashkin 2010). Start: the pivots of
    a partially pivoted LU; then greedy row swaps, each a rank-one update of ``B``."""
    n, r = a.shape
    _, _, perm = lax.linalg.lu(a)
    rows = perm[:r]
    b = jnp.linalg.solve(a[rows].T, a.T).T  # a @ inv(a[rows])

    def cond(state):
        b, _, k = state
        return (jnp.max(jnp.abs(b)) > tol) & (k < maxiter)

    def body(state):
        b, rows, k = state
        i, j = jnp.unravel_index(jnp.argmax(jnp.abs(b)), b.shape)
        col = b[:, j] - jax.nn.one_hot(rows[j], n, dtype=b.dtype)
        row = b[i] - jax.nn.one_hot(j, r, dtype=b.dtype)
        b = b - jnp.outer(col, row) / b[i, j]
        return b, rows.at[j].set(i.astype(rows.dtype)), k + 1

    _, rows, _ = lax.while_loop(cond, body, (b, rows, 0))
    return rows


def _fibers(fn, left: Array, n: int, right: Array) -> Array:
    """``fn`` at every multi-index ``(left[a], i, right[b])``: ``(r_left, n, r_right)``."""
    ra, rb = left.shape[0], right.shape[0]
    idx = jnp.concatenate(
        [
            jnp.broadcast_to(left[:, None, None, :], (ra, n, rb, left.shape[1])),
            jnp.broadcast_to(jnp.arange(n)[None, :, None, None], (ra, n, rb, 1)),
            jnp.broadcast_to(right[None, None, :, :], (ra, n, rb, right.shape[1])),
        ],
        axis=-1,
    )
    return fn(idx.reshape(-1, idx.shape[-1])).reshape(ra, n, rb)


def _sweep(fn, shape, ranks, rights) -> tuple[tuple[Array, ...], list[Array]]:
    """One left-to-right sweep of cross interpolation given the right index sets of the
    bonds, ``rights[k - 1]`` (``(r_k, N - k)`` multi-indices of modes ``k..N-1``, ``k =
    1..N-1``): returns the TT cores (core ``k = Q Q[rows]^{-1}`` of the fibre matrix's
    orthonormal basis ``Q``, the last one the fibres themselves) and the left index sets
    found, ``lefts[k - 1]`` of modes ``0..k-1``."""
    n_modes = len(shape)
    left = jnp.zeros((1, 0), jnp.int32)
    cores, lefts = [], []
    for k in range(n_modes - 1):
        c = _fibers(fn, left, shape[k], rights[k])
        mat = c.reshape(-1, ranks[k + 1])
        q, _ = jnp.linalg.qr(mat)
        rows = _maxvol(q)
        core = jnp.linalg.solve(q[rows].T, q.T).T  # q @ inv(q[rows])
        cores.append(core.reshape(c.shape))
        a, i = rows // shape[k], rows % shape[k]
        left = jnp.concatenate([left[a], i[:, None].astype(jnp.int32)], axis=1)
        lefts.append(left)
    cores.append(_fibers(fn, left, shape[-1], jnp.zeros((1, 0), jnp.int32)))
    return tuple(cores), lefts


def _swap_sets(sets: list[Array]) -> list[Array]:
    """The left index sets of the bonds read as the right sets of the mode-reversed tensor
    (and back): bond order and column order reversed."""
    return [s[:, ::-1] for s in reversed(sets)]


def _cross_loop(fn, shape, ranks, rights0, tol, maxiter):
    """Sweeps until the TT changes by less than ``tol`` (relative) or ``maxiter`` sweeps."""
    rev_fn = lambda idx: fn(idx[:, ::-1])
    rev_shape, rev_ranks = tuple(reversed(shape)), tuple(reversed(ranks))

    def iteration(rights):
        cores, lefts = _sweep(fn, shape, ranks, rights)
        # backward: a forward sweep of the reversed tensor, its right sets our left ones
        _, rev_lefts = _sweep(rev_fn, rev_shape, rev_ranks, _swap_sets(lefts))
        return TTTensor(cores), _swap_sets(rev_lefts)

    def change(a, b):
        diff = tt_inner(a, a) - 2 * tt_inner(a, b) + tt_inner(b, b)
        return relative(diff, tt_inner(a, a))

    def cond(state):
        _, _, err, k, _ = state
        return (k < maxiter) & ~((k > 1) & (err < tol))

    def body(state):
        rights, prev, _, k, hist = state
        tt, new_rights = iteration(rights)
        err = jnp.where(k > 0, change(tt, prev), jnp.inf)
        return new_rights, tt, err, k + 1, hist.at[k].set(err)

    shapes = jax.eval_shape(lambda r: iteration(r)[0], rights0)
    dtype = shapes.cores[0].dtype
    prev = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    hist = jnp.full((maxiter,), jnp.nan, dtype)
    init = (rights0, prev, jnp.asarray(jnp.inf, dtype), 0, hist)
    return lax.while_loop(cond, body, init)


def tt_cross(
    x: Float[Array, "*dims"] | Callable[[Array], Array],
    max_rank: int | Sequence[int],
    *,
    shape: Sequence[int] | None = None,
    key: jax.Array,
    maxiter: int = 10,
    tol: float | Array = 1e-8,
) -> TTResult:
    r"""Tensor train by cross approximation: a TT interpolating the tensor on index sets of
    maximal volume, from about ``2 N n r^2`` entries per sweep (Oseledets & Tyrtyshnikov
    2010; TensorLy's ``tensor_train_cross``).

    Each sweep goes left to right: core ``k`` interpolates the fibres
    ``x[I_k, :, J_{k+1}]`` through the rows of maximal volume of their orthonormal basis
    (``maxvol``), which become the next left index set; then right to left the same way
    for the right index sets. Only the entries at the crosses are read, so ``x`` may be a
    function too large to form: ``x(indices)`` with ``indices`` an ``(K, N)`` integer array
    returns the ``K`` entries (vectorised, JAX-traceable). A low-rank tensor is recovered
    exactly once the index sets see its ranks; the index sets stop moving after a few sweeps.

    Args:
        x: a dense tensor, or a function of ``(K, N)`` multi-indices returning ``(K,)``
            entries (then ``shape`` is required). A function is a static argument: calls
            with the same function object reuse one compiled program, a new one compiles.
        max_rank: the largest rank per bond, as :func:`tt_svd` (static; clipped to what
            ``shape`` allows).
        shape: the tensor's shape when ``x`` is a function (static).
        key: PRNG key of the first right index sets.
        maxiter: maximum number of sweeps (static; each a left-to-right and a right-to-left
            pass).
        tol: stop when the relative change of the TT between sweeps is below ``tol``.

    Returns:
        ``TTResult(tt, info)``; ``info.error`` is the relative change of the TT in the last
        sweep (the tensor itself is never read in full; a dense ``x`` with a non-finite
        entry gives NaN), ``info.history`` per sweep. The
        result is differentiable with respect to the entries it read (the index sets are
        held fixed).

    Raises:
        ValueError: for a missing or mismatched ``shape``, fewer than 2 modes, invalid ranks,
            options or key.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> grid = jnp.linspace(0.0, 1.0, 20)
        >>> f = lambda idx: 1.0 / (1.0 + grid[idx].sum(axis=1))   # a function, never formed
        >>> tt, info = tt_cross(f, 5, shape=(20, 20, 20, 20), key=jax.random.key(0))
        >>> idx = jnp.array([[3, 7, 11, 19], [0, 0, 0, 0]])
        >>> from lrjax import tt_gather
        >>> bool(jnp.allclose(tt_gather(tt, idx), f(idx), rtol=1e-4))
        True

    References:
        I. Oseledets and E. Tyrtyshnikov, "TT-cross approximation for multidimensional
        arrays", Linear Algebra Appl. 432(1), 2010; S. A. Goreinov et al., "How to find a
        good submatrix", 2010 (maxvol). Same model as TensorLy's ``tensor_train_cross``.
    """
    dense = not (callable(x) and not hasattr(x, "shape"))
    if not dense:
        if shape is None:
            raise ValueError("`shape` must be given when `x` is a function of indices.")
        shape = tuple(int(s) for s in shape)
    else:
        x = _checks.as_array("x", x, min_ndim=2)
        if shape is not None and tuple(shape) != x.shape:
            raise ValueError(f"`shape` {tuple(shape)} does not match `x`'s shape {x.shape}.")
        shape = x.shape
    if len(shape) < 2 or any(s < 1 for s in shape):
        raise ValueError(f"`shape` must have at least 2 positive sizes, got {shape}.")
    ranks = _checks.ranks("max_rank", max_rank, len(shape), form="tt", sizes=shape, clip=True)
    ranks = (1, *ranks, 1)
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    key = _checks.prng_key("key", key)
    if dense:  # one compiled program per shape and ranks; the tensor is traced
        return _tt_cross_dense(x, key, tol, ranks=ranks, maxiter=maxiter)
    return _tt_cross_fn(key, tol, fn=x, shape=shape, ranks=ranks, maxiter=maxiter)


@functools.partial(jax.jit, static_argnames=("ranks", "maxiter"))
def _tt_cross_dense(x, key, tol, *, ranks, maxiter) -> TTResult:
    fn = lambda idx: x[tuple(idx.T)]
    tt, info = _tt_cross(fn, x.shape, ranks, key, tol, maxiter)
    # a dense tensor is at hand: a non-finite entry anywhere fails the run (in info), even
    # one the crosses never read
    ok = jnp.all(jnp.isfinite(x))
    error = jnp.where(ok, info.error, jnp.nan)
    return TTResult(tt, info._replace(error=error, converged=info.converged & ok))


@functools.partial(jax.jit, static_argnames=("fn", "shape", "ranks", "maxiter"))
def _tt_cross_fn(key, tol, *, fn, shape, ranks, maxiter) -> TTResult:
    return _tt_cross(fn, shape, ranks, key, tol, maxiter)


def _tt_cross(fn, shape, ranks, key, tol, maxiter) -> TTResult:
    n_modes = len(shape)
    keys = jax.random.split(key, n_modes)
    rights0 = [  # random right index sets of the bonds 1..N-1
        jax.random.randint(keys[k], (ranks[k], n_modes - k), 0, jnp.asarray(shape[k:]), jnp.int32)
        for k in range(1, n_modes)
    ]
    frozen = lambda idx: lax.stop_gradient(fn(idx))  # the index search carries no derivative
    rights, _, err, n_iter, hist = _cross_loop(frozen, shape, ranks, rights0, tol, maxiter)
    cores, _ = _sweep(fn, shape, ranks, rights)  # the result, differentiable in the entries
    info = SolverInfo(
        n_iter=jnp.asarray(n_iter, jnp.int32),
        error=err,
        converged=(err < tol) & jnp.isfinite(err),
        history=hist,
    )
    return TTResult(TTTensor(cores), info)
