"""INDSCAL: CP of symmetric slices, X_k = A D_k A^T, by Levenberg-Marquardt."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative_error
from .._sharding import partitioned
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._unfold import unfold
from ..solvers import levenberg_marquardt
from ..tensors import CPTensor
from ._common import safe_norms
from ._cp import CPResult


def check_symmetric_slices(name: str, x: Array) -> None:
    """Raise ``ValueError`` unless ``x`` has shape ``(I, I, K)`` with symmetric slices (the
    symmetry is checked only on concrete input, to a relative 1e-6)."""
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"`{name}` must have square slices, shape (I, I, K), got {x.shape}.")
    if _checks.is_concrete(x):
        gap, scale = _checks.concrete_value(
            lambda a: (jnp.max(jnp.abs(a - jnp.swapaxes(a, 0, 1))), jnp.max(jnp.abs(a))), x
        )
        if gap > 1e-6 * max(float(scale), np.finfo(np.float64).tiny):
            raise ValueError(
                f"`{name}` must have symmetric slices x[:, :, k], got max |x - x^T| = {gap:.3g} "
                f"(max |x| = {scale:.3g})."
            )


def _indscal_residual(theta, x):
    a, c = theta
    return jnp.einsum("ir,jr,kr->ijk", a, a, c) - x


def _canonical(a: Array, c: Array) -> CPTensor:
    """Unit columns, ``A``'s largest entry positive (its sign is free: it appears twice), the
    sign of each component in ``C``; weights ``||a_r||^2 ||c_r||`` sorted descending."""
    na, nc = safe_norms(a), safe_norms(c)
    a = a / na
    pick = jnp.argmax(jnp.abs(a), axis=0)
    a = a * jnp.where(a[pick, jnp.arange(a.shape[1])] < 0, -1.0, 1.0)
    weights = na**2 * nc
    order = jnp.argsort(-weights)
    a, c = a[:, order], (c / nc)[:, order]
    return CPTensor(weights[order], (a, a, c))


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff"))
def _indscal(x, key, tol, *, rank, maxiter, diff):
    size = x.shape[0]
    k = min(rank, size)
    a = leading_left_singular_vectors(unfold(x, 0), k)
    if k < rank:
        extra = _random.normal(key, (size, rank - k), dtype=x.dtype)
        a = jnp.concatenate([a, extra / safe_norms(extra)], axis=1)
    gram = (a.T @ a) ** 2
    rhs = jnp.einsum("ir,ijk,jr->kr", a, x, a)
    c = rhs @ jnp.linalg.pinv(gram)
    s = jnp.maximum(safe_norms(c), jnp.finfo(x.dtype).tiny) ** (1.0 / 3.0)  # balance scales
    theta, info = levenberg_marquardt(
        _indscal_residual, (a * s, c / s**2), (x,), tol=tol, maxiter=maxiter, diff=diff
    )
    cp = _canonical(*theta)
    error = relative_error(x, cp.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def indscal(
    x: Float[Array, "I I K"],
    rank: int,
    *,
    key: jax.Array | None = None,
    maxiter: int = 200,
    tol: float | Array = 1e-12,
    diff: str = "implicit",
) -> CPResult:
    r"""INDSCAL: individual-differences scaling, a CP model of symmetric slices.

    .. math:: \min_{A, C} \sum_k \bigl\| X_k - A \operatorname{diag}(c_k) A^\top \bigr\|_F^2

    The frontal slices ``x[:, :, k]`` are symmetric (similarities or scalar products of ``I``
    stimuli judged by subject ``k``); the two stimulus modes share one factor ``A`` and each
    subject weighs the ``R`` dimensions by ``c_k``. Solved by Levenberg-Marquardt on
    ``(A, C)`` with the symmetry built in (plain CP-ALS only reaches ``A = B`` at
    convergence, and not for indefinite slices), from ``A`` = leading singular vectors and
    ``C`` its least-squares fit.

    Args:
        x: tensor of shape ``(I, I, K)`` with symmetric frontal slices.
        rank: number of dimensions ``R`` (static).
        key: PRNG key, needed when ``rank > I``.
        maxiter: maximum LM iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``CPResult(cp, info)`` with ``cp.factors == (A, A, C)``: unit columns, the largest
        entry of each column of ``A`` positive, weights ``||a_r||² ||c_r||`` descending.

    Raises:
        ValueError: for a tensor that is not ``(I, I, K)``, asymmetric slices (eagerly),
            non-finite entries, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> a = jax.random.normal(jax.random.key(0), (6, 2))
        >>> c = jax.random.uniform(jax.random.key(1), (4, 2))
        >>> x = jnp.einsum("ir,jr,kr->ijk", a, a, c)
        >>> cp, info = indscal(x, 2)
        >>> bool(info.error < 1e-5), cp.shape
        (True, (6, 6, 4))

    References:
        J. D. Carroll and J.-J. Chang, "Analysis of individual differences in
        multidimensional scaling via an N-way generalization of 'Eckart-Young'
        decomposition", Psychometrika 35(3), 1970. Kolda & Bader (2009), Sec. 5.1.
    """
    x = _checks.as_array("x", x, ndim=3)
    check_symmetric_slices("x", x)
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    if key is None and rank > x.shape[0]:
        raise ValueError(f"`key` must be a PRNG key when rank {rank} > I = {x.shape[0]}, got None.")
    return partitioned(_indscal, x, key, tol, rank=rank, maxiter=maxiter, diff=diff)
