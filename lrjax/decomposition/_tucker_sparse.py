"""Tucker HOOI of a sparse tensor given in coordinate form (``jax.experimental.sparse.BCOO``).

The projection of mode ``n``, ``unfold(X ×_{m≠n} U_mᵀ, n)``, is a sum over the stored entries
``(i_0, ..., i_{N-1}; v)`` of ``v · ⊗_{m≠n} U_m[i_m, :]`` added into row ``i_n``: an
``(nnz, Π_{m≠n} R_m)`` array of Kronecker rows and a segment sum, never the dense tensor.
The core is the same sum over all modes, and the fit ``||X||² − ||G||²`` (orthonormal factors).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _random
from .._numeric import relative
from ..linalg._svd import leading_left_singular_vectors
from ..solvers._loop import iterate
from ..tensors import TuckerTensor
from ._cp_sparse import coordinate_norm_sq


def _kron_rows(indices: Array, values: Array, factors, skip: int | None) -> Array:
    """``v_e ⊗_{m≠skip} U_m[i_m, :]`` for every stored entry ``e``, ``(nnz, Π R_m)``, the
    modes in increasing order (C order, as :func:`lrjax.linalg.unfold`)."""
    rows = values[:, None]
    for m, u in enumerate(factors):
        if m != skip:
            rows = (rows[:, :, None] * u[indices[:, m]][:, None, :]).reshape(rows.shape[0], -1)
    return rows


def coordinate_core(indices: Array, values: Array, factors) -> Array:
    """``X ×_0 U_0ᵀ ⋯ ×_{N-1} U_{N-1}ᵀ`` of a coordinate tensor, shaped by the ranks."""
    ranks = tuple(u.shape[1] for u in factors)
    return jnp.sum(_kron_rows(indices, values, factors, None), axis=0).reshape(ranks)


def _sweep(shape):
    def sweep(factors, data):
        indices, values, norm_x_sq = data
        factors = list(factors)
        for n, size in enumerate(shape):
            y = jax.ops.segment_sum(
                _kron_rows(indices, values, factors, n), indices[:, n], num_segments=size
            )
            factors[n] = leading_left_singular_vectors(y, factors[n].shape[1])
        core = coordinate_core(indices, values, factors)
        return tuple(factors), relative(norm_x_sq - jnp.sum(core * core), norm_x_sq)

    return sweep


@functools.partial(jax.jit, static_argnames=("shape", "ranks", "unique", "maxiter", "diff"))
def tucker_hooi_coordinates(
    indices, values, key, start, tol, *, shape, ranks, unique, maxiter, diff
) -> tuple[TuckerTensor, object]:
    """HOOI of the coordinate tensor ``(indices, values)`` of ``shape`` from the warm start
    ``start`` (orthonormalized) or random orthonormal factors drawn with ``key``."""
    if start is None:
        keys = jax.random.split(key, len(shape))
        factors0 = tuple(
            _random.orthonormal(k, n, r, values.dtype)
            for k, n, r in zip(keys, shape, ranks, strict=True)
        )
    else:
        factors0 = tuple(jnp.linalg.qr(u)[0] for u in start)
    norm_x_sq = coordinate_norm_sq(indices, values, unique)
    data = (indices, values, norm_x_sq)
    factors, info = iterate(_sweep(shape), factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    core = coordinate_core(indices, values, factors)
    error = relative(norm_x_sq - jnp.sum(core * core), norm_x_sq)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TuckerTensor(core, factors), info
