"""Small dense linear algebra written in plain XLA ops.

The R x R systems of ALS and the l x l Gram factorizations of randomized range finders are
tiny, but on CPU each LAPACK call made from inside a jitted loop costs milliseconds (jaxlib
calls SciPy's OpenBLAS, whose threads compete with XLA's own pool). These loops over R
pivots stay inside XLA, run at the same speed on every backend and batch under ``vmap``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks
from .._sharding import partitioned


def gauss_jordan(a: Array, rhs: Array) -> Array:
    """Solve ``a @ x = rhs`` by Gauss-Jordan elimination without pivoting.

    Stable for symmetric positive definite and for triangular ``a`` with a nonzero diagonal,
    the only uses here.
    """
    n = a.shape[0]
    aug = jnp.concatenate([a, rhs], axis=1)

    rows = jnp.arange(n)

    def eliminate(k, aug):
        pivot_row = lax.dynamic_index_in_dim(aug, k, 0, keepdims=False)
        pivot_row = pivot_row / pivot_row[k]
        # row k becomes the pivot row, the others lose their multiple of it
        col = lax.dynamic_index_in_dim(aug, k, 1, keepdims=False) - (rows == k)
        return aug - col[:, None] * pivot_row[None, :]

    return lax.fori_loop(0, n, eliminate, aug)[:, n:]


@jax.custom_jvp
def _spd_inverse(a: Float[Array, "n n"]) -> Float[Array, "n n"]:
    r"""Inverse of a symmetric positive definite matrix, in XLA ops (no LAPACK call).

    A relative jitter of ``eps * trace(a) / n`` (at least the smallest normal number) is
    added to the diagonal, so a singular Gram matrix, the zero matrix included, gives large
    but finite entries instead of NaN; for well-conditioned input the change is at rounding
    level. The derivative is :math:`-A^{-1}\,dA\,A^{-1}`.

    Args:
        a: symmetric positive (semi)definite matrix.

    Returns:
        Its inverse.
    """
    n = a.shape[-1]
    eps = jnp.finfo(a.dtype).eps
    # The floor `tiny` makes the zero matrix invertible too (a huge but finite multiple of the
    # identity): the zero tensor's ALS update is then 0 @ A^{-1} = 0, not NaN.
    jitter = eps * jnp.trace(a) / n + jnp.finfo(a.dtype).tiny
    a = a + jitter * jnp.eye(n, dtype=a.dtype)
    inv = gauss_jordan(a, jnp.eye(n, dtype=a.dtype))
    return 0.5 * (inv + jnp.conj(inv.T))


@_spd_inverse.defjvp
def _spd_inverse_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    inv = _spd_inverse(a)
    return inv, -inv @ da @ inv


_spd_inverse_jit = jax.jit(_spd_inverse)


def spd_inverse(a: Float[Array, "n n"]) -> Float[Array, "n n"]:
    r"""Inverse of a symmetric positive (semi)definite matrix in XLA ops (no LAPACK call).

    A relative jitter of ``eps * trace(a) / n`` (at least the smallest normal number) is
    added to the diagonal, so a singular matrix, the zero matrix included, gives large but
    finite entries instead of NaN. The derivative is :math:`-A^{-1}\,dA\,A^{-1}`. NaN
    entries propagate.

    Args:
        a: symmetric (complex: Hermitian) PSD matrix ``(n, n)``.

    Returns:
        Its (jittered) inverse.

    Raises:
        ValueError: for a non-square or empty ``a``.
    """
    a = _checks.as_array("a", a, ndim=2, check_finite=False, complex_ok=True)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"`a` must be square, got shape {a.shape}.")
    return partitioned(_spd_inverse_jit, a)


def cholesky_guarded(gram: Float[Array, "n n"]) -> tuple[Array, Array]:
    """Lower Cholesky factor of a PSD Gram matrix, dropping numerically dependent columns.

    A pivot below ``n * eps`` times its diagonal entry marks column ``j`` as dependent on the
    earlier ones: its column of ``L`` becomes the unit vector ``e_j`` and ``keep[j]`` is False.

    Returns:
        ``(L, keep)``: lower-triangular ``L`` with a positive diagonal, boolean mask.
    """
    n = gram.shape[0]
    tol = n * jnp.finfo(gram.dtype).eps
    idx = jnp.arange(n)

    def column(j, carry):
        low, keep = carry
        v = gram[:, j] - low @ low[j, :]
        ok = v[j] > tol * gram[j, j]
        d = jnp.sqrt(jnp.where(ok, v[j], 1.0))
        col = jnp.where(idx > j, v / d, 0.0).at[j].set(d)
        col = jnp.where(ok, col, (idx == j).astype(gram.dtype))
        return low.at[:, j].set(col), keep.at[j].set(ok)

    init = (jnp.zeros_like(gram), jnp.ones((n,), dtype=bool))
    return lax.fori_loop(0, n, column, init)


def _cholesky_qr2(q: Array, *, rows: bool) -> Array:
    """CholeskyQR2 of the columns of ``q`` (``rows=False``) or of its rows (``rows=True``).

    Two passes of: Gram matrix, guarded Cholesky factor ``L``, ``q <- q L^{-T}`` (columns) or
    ``q <- L^{-1} q`` (rows), zeroing the vectors found dependent. The row form lets sketches
    made as ``q.T @ a`` stay row-major (see ``lrjax.linalg._gemm``).
    """
    contract = 1 if rows else 0
    for _ in range(2):
        gram = lax.dot_general(q, q, (((contract,), (contract,)), ((), ())))
        low, keep = cholesky_guarded(gram)
        low_inv = gauss_jordan(low, jnp.eye(low.shape[0], dtype=low.dtype))
        q = (low_inv @ q) * keep[:, None] if rows else (q @ low_inv.T) * keep
    return q


@jax.jit
def _orthonormalize(y):
    return _cholesky_qr2(y, rows=False)


def orthonormalize(y: Float[Array, "m k"]) -> Float[Array, "m k"]:
    """Orthonormal basis of ``range(y)`` by CholeskyQR2 in XLA ops (GEMMs and a k-step loop).

    Columns found numerically dependent are returned as zeros, so the result has orthonormal
    or zero columns; directions whose share of a column is below about ``sqrt(k eps)`` are
    treated as dependent (Gram-based methods cannot resolve them).

    Args:
        y: tall matrix, ``m >= k``.

    Returns:
        ``q`` with ``q.T @ q`` the identity on the kept columns and zero elsewhere.

    Raises:
        ValueError: for a non-matrix, complex or empty ``y``, or more columns than rows.
    """
    y = _checks.as_array("y", y, ndim=2, check_finite=False)
    if y.shape[1] > y.shape[0]:
        raise ValueError(f"`y` must be tall (at least as many rows as columns), got {y.shape}.")
    return partitioned(_orthonormalize, y)


def orthonormalize_rows(yt: Float[Array, "k n"]) -> Float[Array, "k n"]:
    """:func:`orthonormalize` of ``yt.T``, returned transposed: orthonormal (or zero) rows."""
    return _cholesky_qr2(yt, rows=True)
