"""CP-ALS of a sparse tensor given in coordinate form (``jax.experimental.sparse.BCOO``), and
the coordinate helpers the other sparse solvers share (checks, ``||X||²``, the CP fit).

The dense tensor is never formed. Each factor update needs the MTTKRP of its mode,
``M_n = X_(n) (⊙_{m≠n} A_m)``: for the ``nnz`` stored entries ``(i_0, ..., i_{N-1}; v)``, the
row ``v · Π_{m≠n} A_m[i_m, :]`` added into row ``i_n`` (a gather and a segment sum,
``O(nnz · R · N)`` work per mode). The fit comes from the same quantities: ``<X, X̂>`` from the
last mode's MTTKRP and ``||X̂||²`` from the factors' Gram matrices, as in the dense sweep.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _checks
from .._numeric import relative
from ..linalg._mttkrp import coordinate_mttkrp
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._common import canonical_cp, cp_init, random_factors, solve_gram


def coordinate_norm_sq(indices: Array, values: Array, unique: bool) -> Array:
    """``||X||_F²`` of a coordinate tensor; repeated coordinates are summed first (their values
    add, as in ``BCOO``), found by a lexicographic sort of the coordinates."""
    if unique:
        return jnp.sum(values * values)
    order = jnp.lexsort(indices.T[::-1])
    idx, val = indices[order], values[order]
    new = jnp.concatenate([jnp.ones(1, bool), jnp.any(idx[1:] != idx[:-1], axis=1)])
    segment = jnp.cumsum(new) - 1
    sums = jax.ops.segment_sum(val, segment, num_segments=values.shape[0])
    return jnp.sum(sums * sums)


def _sweep(shape):
    """One ALS sweep over the modes of a coordinate tensor of ``shape``; the factors of modes
    ``0..N-2`` come out with unit columns, the scale in the last (the dense sweep's form)."""

    def sweep(factors, data):
        indices, values, norm_x_sq = data
        n_modes = len(shape)
        new = list(factors)
        grams = [f.T @ f for f in new]
        for n in range(n_modes):
            m = coordinate_mttkrp(indices, values, new, n, shape[n])
            v = functools.reduce(jnp.multiply, [grams[k] for k in range(n_modes) if k != n])
            a = solve_gram(v, m)
            if n != n_modes - 1:
                norms = jnp.linalg.norm(a, axis=0)
                a = a / jnp.where(norms == 0, 1.0, norms)
            new[n] = a
            grams[n] = a.T @ a
        inner = jnp.sum(m * new[-1])
        norm_hat_sq = jnp.sum(v * grams[-1])
        return tuple(new), relative(norm_x_sq - 2 * inner + norm_hat_sq, norm_x_sq)

    return sweep


def sparse_relative_error(indices, values, norm_x_sq, cp: CPTensor, shape) -> Array:
    """``||X - cp|| / ||X||`` from ``<X, cp>`` (one MTTKRP) and the model's Gram matrices:
    accurate to about ``sqrt(eps)`` of ``||X||`` (the expansion's cancellation)."""
    factors = list(cp.factors)
    factors[-1] = factors[-1] * cp.weights
    m = coordinate_mttkrp(indices, values, factors, len(shape) - 1, shape[-1])
    inner = jnp.sum(m * factors[-1])
    grams = functools.reduce(jnp.multiply, [f.T @ f for f in factors])
    return relative(norm_x_sq - 2 * inner + jnp.sum(grams), norm_x_sq)


@functools.partial(jax.jit, static_argnames=("shape", "rank", "unique", "maxiter", "diff"))
def cp_als_coordinates(
    indices, values, key, start, tol, *, shape, rank, unique, maxiter, diff
) -> tuple[CPTensor, object]:
    """CP-ALS of the coordinate tensor ``(indices, values)`` of ``shape`` from the warm start
    ``start`` or (``start=None``) random factors drawn with ``key``; returns the canonical CP
    tensor and the solver's info."""
    factors0 = random_factors(key, shape, rank, values.dtype) if start is None else start
    norm_x_sq = coordinate_norm_sq(indices, values, unique)
    data = (indices, values, norm_x_sq)
    factors, info = iterate(_sweep(shape), factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    cp = canonical_cp(factors)
    error = sparse_relative_error(indices, values, norm_x_sq, cp, shape)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return cp, info


def cp_als_sparse(x, rank: int, *, key, init, maxiter: int, tol, diff: str, options: dict):
    """:func:`lrjax.cp_als` of a ``BCOO`` tensor ``x`` (checks, the start, the solve)."""
    from ._cp import CPResult  # (_cp imports this module)

    unsupported = [name for name, value in options.items() if not (value is None or value is False)]
    if unsupported:
        raise ValueError(
            f"`{unsupported[0]}` is not supported for a sparse (BCOO) `x`; densify it "
            "(x.todense()) or leave the option out."
        )
    values, indices, shape = coordinate_parts(x)
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    probe = jax.ShapeDtypeStruct(shape, values.dtype)
    start, name = cp_init("init", init, probe, rank)
    if start is None:
        if name == "svd":
            raise ValueError(
                "`init='svd'` (the default) needs the dense tensor; for a sparse (BCOO) `x` "
                "pass init='random' with a `key`, or a warm start (a CPTensor)."
            )
        if key is None:
            raise ValueError("`key` must be a PRNG key when init='random', got None.")
    cp, info = cp_als_coordinates(
        indices, values, key, start, tol, shape=shape, rank=rank,
        unique=bool(x.unique_indices), maxiter=maxiter, diff=diff,
    )  # fmt: skip
    return CPResult(cp, info)


def coordinate_parts(x) -> tuple[Array, Array, tuple[int, ...]]:
    """``(values, indices, shape)`` of a ``BCOO`` tensor, checked: no batch or dense
    dimensions, at least 2 non-empty modes, real finite values (integers promoted) and, when
    concrete, coordinates inside the shape (a gather would clamp one outside, and the segment
    sum drop it, silently)."""
    if x.n_batch or x.n_dense:
        raise ValueError(
            f"`x` must be a BCOO array without batch or dense dimensions (n_batch=0, "
            f"n_dense=0), got n_batch={x.n_batch}, n_dense={x.n_dense}."
        )
    shape = tuple(int(d) for d in x.shape)
    if len(shape) < 2 or min(shape) == 0:
        raise ValueError(f"`x` must have at least 2 non-empty modes, got shape {shape}.")
    values, indices = x.data, x.indices
    if jnp.issubdtype(values.dtype, jnp.complexfloating):
        raise ValueError(f"`x` must be real, got dtype {values.dtype}.")
    if not jnp.issubdtype(values.dtype, jnp.floating):
        values = values.astype(jnp.result_type(float))
    _checks.finite("x (its stored values)", values)
    if _checks.is_concrete(indices) and indices.shape[0]:
        lo = _checks.concrete_value(lambda i: jnp.min(i, axis=0), indices)
        hi = _checks.concrete_value(lambda i: jnp.max(i, axis=0), indices)
        for m, (a, b, n) in enumerate(zip(lo, hi, shape, strict=True)):
            if a < 0 or b >= n:
                raise ValueError(
                    f"`x` has a stored coordinate outside its shape {shape}: mode {m} ranges "
                    f"over [{int(a)}, {int(b)}]."
                )
    return values, indices, shape
