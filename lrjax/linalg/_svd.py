"""Truncated and randomized SVD with fixed signs."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks, _random
from .._sharding import partitioned
from ._gemm import factor_gemm
from ._small import orthonormalize, orthonormalize_rows
from ._spectral import conj_transpose as _h
from ._spectral import eigh_guarded, svd_guarded


@jax.jit
def flip_signs(u, vt):
    """:func:`svd_flip` without argument checks (for use inside traced code). For complex
    factors the phase of the largest-magnitude entry is removed (it becomes real positive)."""
    pick = jnp.argmax(jnp.abs(u), axis=-2)
    signs = jnp.sign(jnp.take_along_axis(u, pick[..., None, :], axis=-2))[..., 0, :]
    signs = jnp.where(signs == 0, 1, signs).astype(u.dtype)
    return u * jnp.conj(signs)[..., None, :], vt * signs[..., :, None]


def svd_flip(
    u: Float[Array, "m r"], vt: Float[Array, "r n"]
) -> tuple[Float[Array, "m r"], Float[Array, "r n"]]:
    """Fix SVD signs: the largest-magnitude entry of each column of ``u`` becomes positive.

    The same sign multiplies the matching row of ``vt``, so ``u @ diag(s) @ vt`` is unchanged.
    Same rule as scikit-learn's ``svd_flip(u_based_decision=True)``. Complex factors: the
    entry's phase ``p`` is removed (``u_j p̄``, ``p vt_j``), making it real positive.

    Args:
        u: left singular vectors, ``(m, r)``.
        vt: right singular vectors, ``(r, n)``.

    Returns:
        ``(u, vt)`` with fixed signs.

    Raises:
        ValueError: for non-matrix or empty input, or ``u``'s columns not matching
            ``vt``'s rows.
    """
    u = _checks.as_array("u", u, min_ndim=2, check_finite=False, complex_ok=True)
    vt = _checks.as_array("vt", vt, min_ndim=2, check_finite=False, complex_ok=True)
    if u.shape[-1] != vt.shape[-2]:
        raise ValueError(
            f"`u` has {u.shape[-1]} columns but `vt` has {vt.shape[-2]} rows (shapes {u.shape} "
            f"and {vt.shape})."
        )
    return partitioned(flip_signs, u, vt)


def _check_matrix_rank(a, rank):
    a = _checks.as_array("a", a, ndim=2, complex_ok=True)
    rank = _checks.positive_int("rank", rank)
    if rank > min(a.shape):
        raise ValueError(
            f"`rank` must be at most min(a.shape) = {min(a.shape)} for `a` of shape "
            f"{a.shape}, got {rank}."
        )
    return a, rank


@functools.partial(jax.jit, static_argnames=("rank",))
def _truncated_svd(a, rank):
    u, s, vt = svd_guarded(a)
    u, vt = flip_signs(u[:, :rank], vt[:rank])
    return u, s[:rank], vt


def truncated_svd(
    a: Float[Array, "m n"], rank: int
) -> tuple[Float[Array, "m r"], Float[Array, " r"], Float[Array, "r n"]]:
    r"""Best rank-``r`` approximation factors (Eckart-Young) from a full thin SVD.

    Args:
        a: matrix of shape ``(m, n)``, real or complex.
        rank: number of singular triplets kept, ``1 <= rank <= min(m, n)`` (static).

    Returns:
        ``(u, s, vt)`` of shapes ``(m, r)``, ``(r,)``, ``(r, n)``, singular values (real)
        descending, signs (complex: phases) fixed by :func:`svd_flip`.

    Raises:
        ValueError: if ``a`` is not a finite matrix or ``rank`` is out of range.

    Examples:
        >>> import jax.numpy as jnp
        >>> u, s, vt = truncated_svd(jnp.diag(jnp.array([3.0, 2.0, 1.0])), 2)
        >>> s
        Array([3., 2.], dtype=float32)
    """
    a, rank = _check_matrix_rank(a, rank)
    return partitioned(_truncated_svd, a, rank=rank)


def randomized_range(a, key, width, n_iter):
    """Orthonormal ``(m, width)`` basis approximating the range of ``a`` (Halko Alg. 4.4)."""
    m, n = a.shape
    width = min(width, m, n)
    if jnp.iscomplexobj(a):  # Householder QR (the CholeskyQR2 kernels are real)
        omega = _random.normal(key, (n, width), dtype=a.dtype)
        q = jnp.linalg.qr(a @ omega)[0]
        power = lambda _, q: jnp.linalg.qr(a @ jnp.linalg.qr(_h(a) @ q)[0])[0]
        return lax.fori_loop(0, n_iter, power, q)
    omega = _random.normal(key, (n, width), dtype=a.dtype)
    q = orthonormalize(a @ omega)

    def power(_, q):
        # ``a.T @ q`` kept as rows (``q.T @ a``) so both products are row-major GEMMs.
        zt = orthonormalize_rows(factor_gemm(q, a, contract=0))
        return orthonormalize(lax.dot_general(a, zt, (((1,), (1,)), ((), ()))))

    return lax.fori_loop(0, n_iter, power, q)


@functools.partial(jax.jit, static_argnames=("rank", "n_oversamples", "n_iter"))
def _randomized_svd(a, key, rank, n_oversamples, n_iter):
    q = randomized_range(a, key, rank + n_oversamples, n_iter)
    u_small, s, vt = svd_guarded(factor_gemm(jnp.conj(q), a, contract=0))
    u, vt = flip_signs((q @ u_small)[:, :rank], vt[:rank])
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
        a: matrix ``(m, n)``, real or complex (complex sketches are orthonormalised by
            Householder QR).
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
    key = _checks.prng_key("key", key)
    n_oversamples = _checks.nonneg_int("n_oversamples", n_oversamples)
    n_iter = _checks.nonneg_int("n_iter", n_iter)
    return partitioned(
        _randomized_svd, a, key, rank=rank, n_oversamples=n_oversamples, n_iter=n_iter
    )


def _complete_basis(u: Array, missing: Array) -> Array:
    """Fill the columns of ``u`` flagged in ``missing`` (zero columns, always its trailing
    ones) with orthonormal directions orthogonal to its other columns, so that ``u`` has
    orthonormal columns.

    The directions come from a fixed pseudo-random matrix (deterministic, generic: a sine
    hash of the indices, which compiles in a fraction of the time of ``jax.random``'s
    generator) with the kept columns projected out twice, orthonormalised by a Householder
    QR with the missing columns first (so that their ``Q`` columns span exactly the
    projected directions); needs ``u.shape[1] <= u.shape[0]``. A rarely taken branch, so it
    uses LAPACK's QR rather than the XLA-op orthonormalisation of the hot loops. The added
    directions carry no derivative: any orthonormal completion is as good as another, and
    QR's derivative is not finite on the zero columns.
    """
    fixed = lax.stop_gradient(u)
    real = jnp.real(u).dtype
    i = lax.broadcasted_iota(real, u.shape, 0)
    j = lax.broadcasted_iota(real, u.shape, 1)
    hashed = jnp.sin(12.9898 * (i + 1.0) + 78.233 * (j + 1.0)) * 43758.5453
    g = ((hashed - jnp.floor(hashed) - 0.5) * missing).astype(u.dtype)
    for _ in range(2):
        g = g - fixed @ (_h(fixed) @ g)
    q, _ = jnp.linalg.qr(g[:, ::-1])
    return u + q[:, ::-1] * missing


@functools.partial(jax.jit, static_argnames=("rank",))
def _leading_left(mat, rank):
    m, n = mat.shape
    if n > m:
        _, v = eigh_guarded(mat @ _h(mat))
        u = v[:, ::-1][:, :rank]
    else:
        k = min(rank, n)
        s2, v = eigh_guarded(_h(mat) @ mat)
        s2, v = s2[::-1][:k], v[:, ::-1][:, :k]
        pos = s2 > 0  # double `where`: finite derivatives at zero singular values
        s = jnp.sqrt(jnp.where(pos, s2, 1.0))
        u = jnp.where(pos, (mat @ v) / s, 0.0)
        if rank > k:  # more vectors than the matrix has columns: pad, then complete
            u = jnp.concatenate([u, jnp.zeros((m, rank - k), u.dtype)], axis=1)
            pos = jnp.concatenate([pos, jnp.zeros((rank - k,), bool)])
        missing = (~pos).astype(u.dtype)
        u = lax.cond(jnp.any(~pos), _complete_basis, lambda u, _: u, u, missing)
    u, _ = flip_signs(u, _h(u))
    # NaN in, NaN out (the completion would hide it). Not tested on the eigenvalues instead
    # (one scalar, no pass over `mat`): that version hung `jit(vmap(cp_als))` on 2 cores,
    # both XLA:CPU pool threads waiting inside jaxlib 0.10's batched eigh (docs/index.md,
    # "Performance on CPU").
    ok = jnp.all(jnp.isfinite(mat))
    return jnp.where(ok, u, jnp.nan)


def leading_left_singular_vectors(mat: Float[Array, "m n"], rank: int) -> Float[Array, "m r"]:
    """The ``rank`` leading left singular vectors of ``mat``, signs fixed.

    Computed from the symmetric eigendecomposition of the smaller Gram matrix (``eigh``:
    0.8 ms against 1.1-1.4 ms for an SVD of a 100 x 100 one, measured on CPU): for a wide
    matrix (``n > m``) the ``m x m`` matrix ``mat @ mat.T``; for a tall one the ``n x n``
    matrix ``mat.T @ mat``, with ``u = mat v / s``. Both are far cheaper than the SVD of
    ``mat`` for the thin unfoldings of Tucker and TT algorithms, and exact for the leading
    subspace up to ``eps * (s_1 / s_rank)^2``. Differentiable (the eigh derivative guards
    repeated eigenvalues).

    The result always has orthonormal columns: where ``mat`` has fewer than ``rank``
    nonzero singular values (a zero matrix, or ``rank`` above its number of columns, as in
    HOOI when one rank exceeds the product of the others), the basis is completed with
    directions orthogonal to ``mat``'s range, as ``full_matrices=True`` would (TensorLy does
    the same). A matrix with a NaN or infinite entry gives NaN.

    Args:
        mat: matrix ``(m, n)``.
        rank: number of vectors, ``1 <= rank <= m`` (static).

    Returns:
        ``(m, rank)`` matrix with orthonormal columns.

    Raises:
        ValueError: for a non-matrix or a ``rank`` outside ``[1, m]``.
    """
    mat = _checks.as_array("mat", mat, ndim=2, check_finite=False, complex_ok=True)
    rank = _checks.positive_int("rank", rank)
    if rank > mat.shape[0]:
        raise ValueError(
            f"`rank` must be at most the number of rows of `mat` ({mat.shape[0]}), got {rank}."
        )
    return partitioned(_leading_left, mat, rank=rank)
