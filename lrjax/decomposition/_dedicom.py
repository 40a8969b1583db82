"""DEDICOM and PARATUCK2 by Levenberg-Marquardt on all factors."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative_error
from .._sharding import partitioned
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._unfold import unfold
from ..solvers import levenberg_marquardt
from ..solvers._info import SolverInfo
from ..tensors import DedicomTensor, Paratuck2Tensor
from ._common import safe_norms

ATTEMPTS = 10


class DedicomResult(NamedTuple):
    """Result of :func:`dedicom`: the decomposition and its :class:`SolverInfo`."""

    dedicom: DedicomTensor
    info: SolverInfo


class Paratuck2Result(NamedTuple):
    """Result of :func:`paratuck2`: the decomposition and its :class:`SolverInfo`."""

    paratuck2: Paratuck2Tensor
    info: SolverInfo


def _unit_positive(f: Array) -> tuple[Array, Array]:
    """Columns scaled to unit norm with the largest-magnitude entry positive, and the factors
    ``s`` with ``f = f_out * s``."""
    norms = safe_norms(f)
    g = f / norms
    pick = jnp.argmax(jnp.abs(g), axis=0)
    sign = jnp.where(g[pick, jnp.arange(g.shape[1])] < 0, -1.0, 1.0)
    return g * sign, norms * sign


def _init_weights(key, shape, dtype) -> Array:
    """Slice weights to start from: all ones, or uniform in [0.5, 1.5] with a key."""
    if key is None:
        return jnp.ones(shape, dtype)
    return _random.uniform(key, shape, dtype, 0.5, 1.5)


def _dedicom_residual(theta, x):
    return DedicomTensor(*theta).to_dense() - x


def _paratuck2_residual(theta, x):
    return Paratuck2Tensor(*theta).to_dense() - x


def _lm(residual, theta0, x, tol, maxiter, diff):
    return levenberg_marquardt(
        residual, theta0, (x,), tol=tol, maxiter=maxiter, diff=diff, attempts=ATTEMPTS
    )


def _finish(result, x, info):
    error = relative_error(x, result.to_dense())
    return info._replace(error=error, converged=info.converged & jnp.isfinite(error))


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "diff"))
def _dedicom(x, key, tol, *, rank, maxiter, diff):
    a = leading_left_singular_vectors(jnp.concatenate([unfold(x, 0), unfold(x, 1)], 1), rank)
    d = _init_weights(key, (x.shape[2], rank), x.dtype)
    r = a.T @ jnp.mean(x, axis=2) @ a
    (a, r, d), info = _lm(_dedicom_residual, (a, r, d), x, tol, maxiter, diff)
    a, sa = _unit_positive(a)
    d, sd = _unit_positive(d)
    sd = sd / jnp.sqrt(d.shape[0])  # columns of D with root-mean-square 1
    d = d * jnp.sqrt(d.shape[0])
    s = sa * sd
    result = DedicomTensor(a, r * s[:, None] * s[None, :], d)
    return DedicomResult(result, _finish(result, x, info))


@functools.partial(jax.jit, static_argnames=("ranks", "maxiter", "diff"))
def _paratuck2(x, key, tol, *, ranks, maxiter, diff):
    p, q = ranks
    a = leading_left_singular_vectors(unfold(x, 0), p)
    b = leading_left_singular_vectors(unfold(x, 1), q)
    keys = (None, None) if key is None else jax.random.split(key)
    da = _init_weights(keys[0], (x.shape[2], p), x.dtype)
    db = _init_weights(keys[1], (x.shape[2], q), x.dtype)
    r = a.T @ jnp.mean(x, axis=2) @ b
    theta, info = _lm(_paratuck2_residual, (a, da, r, db, b), x, tol, maxiter, diff)
    a, da, r, db, b = theta
    rms = jnp.sqrt(x.shape[2])
    a, sa = _unit_positive(a)
    b, sb = _unit_positive(b)
    da, sda = _unit_positive(da)
    db, sdb = _unit_positive(db)
    r = r * (sa * sda / rms)[:, None] * (sb * sdb / rms)[None, :]
    da, db = da * rms, db * rms
    # Per-slice indeterminacy D^A_k -> t_k D^A_k, D^B_k -> D^B_k / t_k: balance the rows.
    t = jnp.sqrt(safe_norms(db.T) / safe_norms(da.T))[:, None]
    result = Paratuck2Tensor(a, da * t, r, db / t, b)
    return Paratuck2Result(result, _finish(result, x, info))


def _check_rank(name: str, rank: int, limit: int, what: str) -> None:
    if rank > limit:
        raise ValueError(f"`{name}` must be at most {what} = {limit}, got {rank}.")


def dedicom(
    x: Float[Array, "I I K"],
    rank: int,
    *,
    key: jax.Array | None = None,
    maxiter: int = 300,
    tol: float | Array = 1e-12,
    diff: str = "implicit",
) -> DedicomResult:
    r"""Three-way DEDICOM: asymmetric relations among ``I`` objects through ``P`` aspects.

    .. math:: \min_{A, R, D} \sum_k \bigl\| X_k - A D_k R D_k A^\top \bigr\|_F^2,
       \qquad D_k = \operatorname{diag}(d_k)

    ``X_k`` holds asymmetric relations (trade from country ``i`` to ``j``, e-mails from
    person ``i`` to ``j``) in period ``k``. ``A`` gives each object's loading on the
    aspects, ``R`` the asymmetric relations between aspects and ``d_k`` the aspects'
    weight in period ``k``. Solved by Levenberg-Marquardt on ``(A, R, D)``, started from
    the leading singular vectors of ``[X_(0), X_(1)]``, ``D = 1`` and ``R`` their
    least-squares fit (the ASALSAN model of Bader, Harshman and Kolda; optimisation as in
    Tensorlab's structured data fusion).

    Args:
        x: tensor of shape ``(I, I, K)``, slices ``x[:, :, k]``.
        rank: number of aspects ``P <= I`` (static).
        key: optional PRNG key: start the slice weights ``D`` uniformly in [0.5, 1.5]
            instead of at 1. The problem is non-convex; to try several starts, ``vmap`` over
            keys and keep the result with the smallest ``info.error``.
        maxiter: maximum LM iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``DedicomResult(dedicom, info)``: a :class:`~lrjax.tensors.DedicomTensor` with
        unit-norm columns of ``A`` and root-mean-square-1 columns of ``D`` (each with its
        largest-magnitude entry positive), ``R`` carrying the scale.

    Raises:
        ValueError: for a tensor that is not ``(I, I, K)``, ``rank > I``, non-finite entries
            or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.tensors import DedicomTensor
        >>> ks = jax.random.split(jax.random.key(0), 3)
        >>> x = DedicomTensor(jax.random.normal(ks[0], (6, 2)),
        ...                   jax.random.normal(ks[1], (2, 2)),
        ...                   jax.random.uniform(ks[2], (5, 2), minval=0.5)).to_dense()
        >>> res = dedicom(x, 2)
        >>> bool(res.info.error < 1e-4)
        True

    References:
        R. A. Harshman, "Models for analysis of asymmetrical relationships among N objects
        or stimuli", 1978. B. W. Bader, R. A. Harshman and T. G. Kolda, "Temporal analysis
        of semantic graphs using ASALSAN", ICDM 2007. Kolda & Bader (2009), Sec. 5.3.
    """
    x = _checks.as_array("x", x, ndim=3)
    if x.shape[0] != x.shape[1]:
        raise ValueError(f"`x` must have square slices, shape (I, I, K), got {x.shape}.")
    rank = _checks.positive_int("rank", rank)
    _check_rank("rank", rank, x.shape[0], "I")
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    return partitioned(_dedicom, x, key, tol, rank=rank, maxiter=maxiter, diff=diff)


def paratuck2(
    x: Float[Array, "I J K"],
    ranks: tuple[int, int],
    *,
    key: jax.Array | None = None,
    maxiter: int = 300,
    tol: float | Array = 1e-12,
    diff: str = "implicit",
) -> Paratuck2Result:
    r"""PARATUCK2: a Tucker2-like model whose mode-0 and mode-1 components are switched on
    and off per slice.

    .. math:: \min \sum_k \bigl\| X_k - A D^A_k R D^B_k B^\top \bigr\|_F^2

    ``A`` (``I x P``) and ``B`` (``J x Q``) are loadings of the two modes, ``R`` (``P x Q``)
    their interactions, and the diagonal ``D^A_k``, ``D^B_k`` the weight of each component in
    slice ``k``. DEDICOM is the case ``B = A``, ``D^B = D^A``. Solved by Levenberg-Marquardt
    on all five factors from an SVD start (``D = 1``, ``R`` fitted).

    Args:
        x: tensor of shape ``(I, J, K)``.
        ranks: ``(P, Q)`` with ``P <= I`` and ``Q <= J`` (static).
        key: optional PRNG key: start the slice weights ``D`` uniformly in [0.5, 1.5]
            instead of at 1. The problem is non-convex; to try several starts, ``vmap`` over
            keys and keep the result with the smallest ``info.error``.
        maxiter: maximum LM iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``Paratuck2Result(paratuck2, info)``: a :class:`~lrjax.tensors.Paratuck2Tensor` with
        unit-norm columns of ``A`` and ``B``, root-mean-square-1 columns of ``D^A`` and
        ``D^B`` (largest-magnitude entries positive), then each slice's scale shared evenly
        (``D^A_k`` and ``D^B_k`` can trade a factor ``t_k``: their rows get equal norms),
        and ``R`` carrying the scale.

    Raises:
        ValueError: for a tensor that is not 3-way, ranks that do not fit, or bad options.

    Examples:
        >>> import numpy as np
        >>> from lrjax.tensors import Paratuck2Tensor
        >>> rng = np.random.default_rng(5)
        >>> a, b = rng.normal(size=(8, 2)), rng.normal(size=(7, 3))
        >>> da, db = rng.uniform(0.5, 1.5, (6, 2)), rng.uniform(0.5, 1.5, (6, 3))
        >>> x = Paratuck2Tensor(a, da, rng.normal(size=(2, 3)), db, b).to_dense()
        >>> res = paratuck2(x, (2, 3))
        >>> bool(res.info.error < 1e-4), res.paratuck2.rank
        (True, (2, 3))

    References:
        R. A. Harshman and M. E. Lundy, "Uniqueness proof for a family of models sharing
        features of Tucker's three-mode factor analysis and PARAFAC/CANDECOMP",
        Psychometrika 61(1), 1996. R. Bro, "Multi-way analysis in the food industry", PhD
        thesis, 1998. Kolda & Bader (2009), Sec. 5.4.
    """
    x = _checks.as_array("x", x, ndim=3)
    if not (isinstance(ranks, tuple | list) and len(ranks) == 2):
        raise ValueError(f"`ranks` must be a pair (P, Q), got {ranks!r}.")
    p = _checks.positive_int("ranks[0]", ranks[0])
    q = _checks.positive_int("ranks[1]", ranks[1])
    _check_rank("ranks[0]", p, x.shape[0], "I")
    _check_rank("ranks[1]", q, x.shape[1], "J")
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    return partitioned(_paratuck2, x, key, tol, ranks=(p, q), maxiter=maxiter, diff=diff)
