"""Truncated and randomized SVD with fixed signs."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks
from ._gemm import factor_gemm
from ._small import orthonormalize, orthonormalize_rows


@jax.jit
def svd_flip(
    u: Float[Array, "m r"], vt: Float[Array, "r n"]
) -> tuple[Float[Array, "m r"], Float[Array, "r n"]]:
    """Fix SVD signs: the largest-magnitude entry of each column of ``u`` becomes positive.

    The same sign multiplies the matching row of ``vt``, so ``u @ diag(s) @ vt`` is unchanged.
    Same rule as scikit-learn's ``svd_flip(u_based_decision=True)``.

    Args:
        u: left singular vectors, ``(m, r)``.
        vt: right singular vectors, ``(r, n)``.

    Returns:
        ``(u, vt)`` with fixed signs.
    """
    pick = jnp.argmax(jnp.abs(u), axis=-2)
    signs = jnp.sign(jnp.take_along_axis(u, pick[..., None, :], axis=-2))[..., 0, :]
    signs = jnp.where(signs == 0, 1, signs).astype(u.dtype)
    return u * signs[..., None, :], vt * signs[..., :, None]


def _check_matrix_rank(a, rank):
    a = _checks.as_array("a", a, ndim=2)
    rank = _checks.positive_int("rank", rank)
    if rank > min(a.shape):
        raise ValueError(
            f"`rank` must be at most min(a.shape) = {min(a.shape)} for `a` of shape "
            f"{a.shape}, got {rank}."
        )
    return a, rank


@functools.partial(jax.jit, static_argnames=("rank",))
def _truncated_svd(a, rank):
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    u, vt = svd_flip(u[:, :rank], vt[:rank])
    return u, s[:rank], vt


def truncated_svd(
    a: Float[Array, "m n"], rank: int
) -> tuple[Float[Array, "m r"], Float[Array, " r"], Float[Array, "r n"]]:
    r"""Best rank-``r`` approximation factors (Eckart-Young) from a full thin SVD.

    Args:
        a: matrix of shape ``(m, n)``.
        rank: number of singular triplets kept, ``1 <= rank <= min(m, n)`` (static).

    Returns:
        ``(u, s, vt)`` of shapes ``(m, r)``, ``(r,)``, ``(r, n)``, singular values
        descending, signs fixed by :func:`svd_flip`.

    Raises:
        ValueError: if ``a`` is not a finite matrix or ``rank`` is out of range.

    Example:
        >>> import jax.numpy as jnp
        >>> u, s, vt = truncated_svd(jnp.diag(jnp.array([3.0, 2.0, 1.0])), 2)
        >>> s
        Array([3., 2.], dtype=float32)
    """
    a, rank = _check_matrix_rank(a, rank)
    return _truncated_svd(a, rank)


def _randomized_range(a, key, width, n_iter):
    """Orthonormal ``(m, width)`` basis approximating the range of ``a`` (Halko Alg. 4.4)."""
    m, n = a.shape
    width = min(width, m, n)
    omega = jax.random.normal(key, (n, width), dtype=a.dtype)
    q = orthonormalize(a @ omega)

    def power(_, q):
        # ``a.T @ q`` kept as rows (``q.T @ a``) so both products are row-major GEMMs.
        zt = orthonormalize_rows(factor_gemm(q, a, contract=0))
        return orthonormalize(lax.dot_general(a, zt, (((1,), (1,)), ((), ()))))

    return lax.fori_loop(0, n_iter, power, q)


@functools.partial(jax.jit, static_argnames=("rank", "n_oversamples", "n_iter"))
def _randomized_svd(a, key, rank, n_oversamples, n_iter):
    q = _randomized_range(a, key, rank + n_oversamples, n_iter)
    u_small, s, vt = jnp.linalg.svd(factor_gemm(q, a, contract=0), full_matrices=False)
    u, vt = svd_flip((q @ u_small)[:, :rank], vt[:rank])
    return u, s[:rank], vt


def randomized_svd(
    a: Float[Array, "m n"],
    rank: int,
    *,
    key: jax.Array,
    n_oversamples: int = 10,
    n_iter: int = 4,
) -> tuple[Float[Array, "m r"], Float[Array, " r"], Float[Array, "r n"]]:
    r"""Randomized truncated SVD (Halko, Martinsson & Tropp 2011, Algorithm 4.4).

    A Gaussian sketch ``Y = A Ω`` with ``rank + n_oversamples`` columns, ``n_iter`` power
    iterations ``(A A^T)^q`` with re-orthonormalisation after every product, then the exact
    SVD of the small matrix ``Q^T A``. Orthonormalisation is CholeskyQR2 written in XLA ops
    (GEMMs only), which on CPU is about twice as fast as Householder QR through LAPACK.
    Its Gram matrices limit resolution to directions above about ``sqrt(eps)`` relative to
    a sketch column (``1e-8`` in float64, ``3e-4`` in float32); weaker ones are dropped,
    which is below the accuracy a randomized SVD is used for.

    Expected error (Halko et al., Thm. 10.5 with power iterations):
    :math:`\mathbb{E}\|A - U S V^\top\| \le \bigl(1 + \sqrt{k/(p-1)} + e\sqrt{k+p}/p\,
    \sqrt{\min(m,n)-k}\bigr)^{1/(2q+1)} \sigma_{k+1}`.

    Args:
        a: matrix ``(m, n)``.
        rank: ``k``, number of triplets returned (static).
        key: PRNG key for the sketch.
        n_oversamples: ``p``, extra sketch columns (static).
        n_iter: ``q``, power iterations (static).

    Returns:
        ``(u, s, vt)`` as :func:`truncated_svd`.

    Raises:
        ValueError: if ``a`` is not a finite matrix or an integer option is out of range.

    References:
        N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness",
        SIAM Review 53(2), 2011. Same algorithm as ``sklearn.utils.extmath.randomized_svd``.
    """
    a, rank = _check_matrix_rank(a, rank)
    n_oversamples = _checks.nonneg_int("n_oversamples", n_oversamples)
    n_iter = _checks.nonneg_int("n_iter", n_iter)
    return _randomized_svd(a, key, rank, n_oversamples, n_iter)


@functools.partial(jax.jit, static_argnames=("rank",))
def leading_left_singular_vectors(mat: Float[Array, "m n"], rank: int) -> Float[Array, "m r"]:
    """The ``rank`` leading left singular vectors of ``mat``, signs fixed.

    Computed from the symmetric eigendecomposition of the smaller Gram matrix (``eigh``:
    0.8 ms against 1.1-1.4 ms for an SVD of a 100 x 100 one, measured on CPU): for a wide
    matrix (``n > m``) the ``m x m`` matrix ``mat @ mat.T``; for a tall one the ``n x n``
    matrix ``mat.T @ mat``, with ``u = mat v / s``. Both are far cheaper than the SVD of
    ``mat`` for the thin unfoldings of Tucker and TT algorithms, and exact for the leading
    subspace up to ``eps * (s_1 / s_rank)^2``. Differentiable (the eigh derivative guards
    repeated eigenvalues); a zero singular value gives a zero column.

    Args:
        mat: matrix ``(m, n)``.
        rank: number of vectors, at most ``min(m, n)`` (static).

    Returns:
        ``(m, rank)`` matrix with orthonormal columns (zero columns for a zero singular value).
    """
    m, n = mat.shape
    if n > m:
        _, v = jnp.linalg.eigh(mat @ mat.T)
        u = v[:, ::-1][:, :rank]
    else:
        s2, v = jnp.linalg.eigh(mat.T @ mat)
        s2, v = s2[::-1][:rank], v[:, ::-1][:, :rank]
        pos = s2 > 0  # double `where`: finite derivatives at zero singular values
        s = jnp.sqrt(jnp.where(pos, s2, 1.0))
        u = jnp.where(pos, (mat @ v) / s, 0.0)
    u, _ = svd_flip(u, u.T)
    return u
