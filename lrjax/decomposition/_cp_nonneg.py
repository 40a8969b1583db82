"""Non-negative CP decomposition by hierarchical alternating least squares (HALS)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._sharding import partitioned
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._common import (
    canonical_cp,
    cp_init,
    cp_relative_error,
    hals_columns,
    safe_norms,
    scale_into_last,
)
from ._cp import CPResult, dimension_tree_sweep


def _hals_sweep(factors, data):
    """One HALS sweep: :func:`~lrjax.decomposition._cp.dimension_tree_sweep` with projected
    column updates instead of the least-squares solve."""
    return dimension_tree_sweep(factors, data, update=hals_columns)


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff"))
def _cp_nonneg(x, key, tol, start=None, *, rank, maxiter, diff):
    if start is not None:  # a warm start, in the sweep's form (the scale in the last factor)
        factors0 = scale_into_last(start)
    else:
        keys = jax.random.split(key, x.ndim)
        factors0 = tuple(
            _random.uniform(k, (size, rank), dtype=x.dtype, minval=0.1, maxval=1.0)
            for k, size in zip(keys, x.shape, strict=True)
        )
        scale = jnp.sqrt(jnp.sum(x * x)) ** (1.0 / x.ndim)  # start near the data's magnitude
        factors0 = tuple(f / safe_norms(f) * scale for f in factors0)
    data = (x, jnp.sum(x * x))
    factors, info = iterate(_hals_sweep, factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    cp = canonical_cp(factors)
    error = cp_relative_error(x, cp, data[1])
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_nonneg(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    key: jax.Array | None = None,
    init: str | CPTensor = "random",
    maxiter: int = 500,
    tol: float = 1e-8,
    diff: str = "unroll",
) -> CPResult:
    r"""Non-negative CP decomposition by hierarchical ALS (HALS).

    .. math:: \min_{A_n \ge 0} \bigl\| \mathcal{X} - [\![A_0, \dots, A_{N-1}]\!] \bigr\|_F^2

    Each sweep updates one factor at a time, column by column,
    :math:`a_r \leftarrow \max\bigl(0,\, a_r + (M_{:,r} - A V_{:,r}) / V_{rr}\bigr)` with the
    MTTKRP ``M`` (dimension tree, as :func:`cp_als`) and ``V`` the Hadamard product of the
    other factors' Gram matrices. The result is in :func:`cp_als`'s canonical form (all
    entries of the factors are non-negative, so the sign rule leaves them unchanged).

    Args:
        x: non-negative tensor with ``N >= 2`` modes.
        rank: number of components (static).
        key: PRNG key of the random positive initialisation (required for
            ``init="random"``).
        init: ``"random"`` (default: uniform entries, scaled to ``x``'s norm) or a warm
            start, a non-negative :class:`~lrjax.tensors.CPTensor` of ``x``'s shape and rank
            ``rank`` (as in :func:`cp_als`).
        maxiter: maximum sweeps (static).
        tol: stopping tolerance on the change of the relative error.
        diff: ``"unroll"`` (default; the projection makes the fixed point non-smooth where a
            constraint is about to become active) or ``"implicit"``.

    Returns:
        ``CPResult(cp, info)`` with non-negative weights and factors.

    Raises:
        ValueError: for fewer than 2 modes, negative or non-finite entries in an eager call,
            or bad options, a missing ``key`` for ``init="random"``, or a warm start of another
            shape or rank or with a negative entry.

    References:
        A. Cichocki and A.-H. Phan, "Fast local algorithms for large scale nonnegative matrix
        and tensor factorizations", IEICE Trans. Fundamentals E92-A(3), 2009. Same objective
        as ``tensorly.decomposition.non_negative_parafac_hals``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    if _checks.is_concrete(x):
        n_neg = int(_checks.concrete_value(lambda a: jnp.sum(a < 0), x))
        if n_neg:
            raise ValueError(f"`x` must be non-negative, got {n_neg} negative entries.")
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    start, _ = cp_init("init", init, x, rank, nonneg=True, named=("random",))
    if start is None and key is None:
        raise ValueError(
            "`key` must be a PRNG key when init='random' (or give a warm start `init`), got None."
        )
    if key is not None:
        key = _checks.prng_key("key", key)
    return partitioned(_cp_nonneg, x, key, tol, start, rank=rank, maxiter=maxiter, diff=diff)
