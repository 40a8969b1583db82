"""Planted-problem generators and comparison helpers, for tests and for users' own checks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, _random
from .tensors import CPTensor, LowRankMatrix, TTTensor, TuckerTensor


def _shape(shape, *, min_len: int = 1) -> tuple[int, ...]:
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"`shape` must be a sequence of positive ints, got {shape!r}.") from None
    if len(shape) < min_len:
        raise ValueError(f"`shape` must have at least {min_len} entries, got {shape!r}.")
    return tuple(_checks.positive_int(f"shape[{i}]", n) for i, n in enumerate(shape))


def _ranks(ranks, n: int, name: str = "ranks") -> tuple[int, ...]:
    if isinstance(ranks, int | np.integer) and not isinstance(ranks, bool):
        ranks = (ranks,) * n  # one int for every entry, as the decompositions accept
    try:
        ranks = tuple(ranks)
    except TypeError:
        raise ValueError(f"`{name}` must be a sequence of positive ints, got {ranks!r}.") from None
    if len(ranks) != n:
        raise ValueError(f"`{name}` must have {n} entries, got {ranks!r}.")
    return tuple(_checks.positive_int(f"{name}[{i}]", r) for i, r in enumerate(ranks))


__all__ = [
    "congruence",
    "factor_match_score",
    "random_cp",
    "random_low_rank",
    "random_low_rank_plus_sparse",
    "random_tt",
    "random_tucker",
    "relative_error",
]


def random_cp(
    key: jax.Array, shape: Sequence[int], rank: int, *, dtype=None, normalize: bool = True
) -> CPTensor:
    """A CP tensor with standard normal factors (unit-norm columns when ``normalize``) and
    weights drawn uniformly from ``[1, 2]``, a well-conditioned planted problem.

    Raises:
        ValueError: for a bad ``key``, ``shape`` or ``rank``.
    """
    key = _checks.prng_key("key", key)
    shape = _shape(shape)
    rank = _checks.positive_int("rank", rank)
    dtype = dtype or jnp.result_type(float)
    keys = jax.random.split(key, len(shape) + 1)
    factors = []
    for k, size in zip(keys[1:], shape, strict=True):
        f = _random.normal(k, (size, rank), dtype=dtype)
        if normalize:
            f = f / jnp.linalg.norm(f, axis=0)
        factors.append(f)
    weights = _random.uniform(keys[0], (rank,), dtype=dtype, minval=1.0, maxval=2.0)
    return CPTensor(weights, tuple(factors))


def random_tucker(
    key: jax.Array, shape: Sequence[int], ranks: Sequence[int], *, dtype=None
) -> TuckerTensor:
    """A Tucker tensor with orthonormal factors and a standard normal core.

    Raises:
        ValueError: for a bad ``key`` or ``shape``, or ``ranks`` not one per mode and at most
            each mode's size.
    """
    key = _checks.prng_key("key", key)
    shape = _shape(shape)
    ranks = _ranks(ranks, len(shape))
    for i, (r, n) in enumerate(zip(ranks, shape, strict=True)):
        if r > n:
            raise ValueError(f"`ranks[{i}]` must be at most shape[{i}] = {n}, got {r}.")
    dtype = dtype or jnp.result_type(float)
    keys = jax.random.split(key, len(shape) + 1)
    core = _random.normal(keys[0], tuple(ranks), dtype=dtype)
    factors = tuple(
        _random.orthonormal(k, size, r, dtype)
        for k, size, r in zip(keys[1:], shape, ranks, strict=True)
    )
    return TuckerTensor(core, factors)


def random_tt(
    key: jax.Array, shape: Sequence[int], ranks: int | Sequence[int], *, dtype=None
) -> TTTensor:
    """A TT tensor with standard normal cores; ``ranks`` are the ``N - 1`` internal ranks
    (one int for all of them).

    Raises:
        ValueError: for a bad ``key`` or ``shape``, or not ``N - 1`` positive ``ranks``.
    """
    key = _checks.prng_key("key", key)
    shape = _shape(shape, min_len=2)
    ranks = _ranks(ranks, len(shape) - 1)
    dtype = dtype or jnp.result_type(float)
    full = (1, *ranks, 1)
    keys = jax.random.split(key, len(shape))
    cores = tuple(
        _random.normal(k, (full[i], size, full[i + 1]), dtype=dtype)
        for i, (k, size) in enumerate(zip(keys, shape, strict=True))
    )
    return TTTensor(cores)


def random_low_rank(
    key: jax.Array, shape: tuple[int, int], rank: int, *, dtype=None
) -> LowRankMatrix:
    """A rank-``rank`` matrix with orthonormal factors and singular values in ``[1, 2]``.

    Raises:
        ValueError: for a bad ``key``, a ``shape`` that is not two positive ints, or a
            ``rank`` above ``min(shape)``.
    """
    key = _checks.prng_key("key", key)
    dims = _shape(shape, min_len=2)
    if len(dims) != 2:
        raise ValueError(f"`shape` must be (m, n), got {shape!r}.")
    shape = (dims[0], dims[1])
    rank = _checks.positive_int("rank", rank)
    if rank > min(shape):
        raise ValueError(f"`rank` must be at most min(shape) = {min(shape)}, got {rank}.")
    dtype = dtype or jnp.result_type(float)
    ku, ks, kv = jax.random.split(key, 3)
    u = _random.orthonormal(ku, shape[0], rank, dtype)
    v = _random.orthonormal(kv, shape[1], rank, dtype)
    s = jnp.sort(_random.uniform(ks, (rank,), dtype=dtype, minval=1.0, maxval=2.0))[::-1]
    return LowRankMatrix(u, s, v.T)


def random_low_rank_plus_sparse(
    key: jax.Array, n: int, rank: int, fraction: float, *, dtype=None
) -> tuple[jax.Array, jax.Array]:
    """The robust-PCA test problem of Candès, Li, Ma & Wright (J. ACM 2011, Sec. 4).

    ``L = X Yᵀ`` with ``X, Y`` of shape ``(n, rank)`` and i.i.d. ``N(0, 1/n)`` entries, and a
    sparse ``S`` whose entries are ``±1`` with probability ``fraction`` each (independent
    signs) and 0 otherwise. Returns ``(L, S)``; the data matrix is ``L + S``.

    Raises:
        ValueError: for a bad ``key``, ``n`` or ``rank`` (at most ``n``), or a ``fraction``
            outside [0, 1].
    """
    key = _checks.prng_key("key", key)
    n = _checks.positive_int("n", n)
    rank = _checks.positive_int("rank", rank)
    if rank > n:
        raise ValueError(f"`rank` must be at most `n` = {n}, got {rank}.")
    _checks.scalar("fraction", fraction, lambda v: 0 <= v <= 1, "in [0, 1]")
    dtype = dtype or jnp.result_type(float)
    kx, ky, ks, kv = jax.random.split(key, 4)
    x = _random.normal(kx, (n, rank), dtype=dtype) / np.sqrt(n)
    y = _random.normal(ky, (n, rank), dtype=dtype)
    signs = jnp.where(_random.bernoulli(kv, 0.5, (n, n)), 1.0, -1.0).astype(dtype)
    sparse = jnp.where(_random.bernoulli(ks, fraction, (n, n)), signs, 0.0)
    return x @ y.T, sparse


def relative_error(x, x_hat) -> jax.Array:
    """``||x - x_hat||_F / ||x||_F``."""
    x, x_hat = jnp.asarray(x), jnp.asarray(x_hat)
    return jnp.linalg.norm((x - x_hat).ravel()) / jnp.linalg.norm(x.ravel())


def congruence(a, b) -> np.ndarray:
    """Absolute cosine between the columns of ``a`` and ``b`` (a matrix ``R_a x R_b``)."""
    a = np.asarray(a) / np.linalg.norm(np.asarray(a), axis=0)
    b = np.asarray(b) / np.linalg.norm(np.asarray(b), axis=0)
    return np.abs(a.T @ b)


def factor_match_score(cp_true: CPTensor, cp_est: CPTensor) -> float:
    """Factor match score of two CP tensors of the same rank: the mean over components of
    the product of per-mode column congruences, maximised over component permutations
    (exhaustive for rank <= 8, greedy above). 1 means identical up to scaling and sign."""
    rank = cp_true.rank
    if cp_est.rank != rank:
        raise ValueError(f"ranks differ: {rank} and {cp_est.rank}.")
    score = np.ones((rank, rank))
    for fa, fb in zip(cp_true.factors, cp_est.factors, strict=True):
        score = score * congruence(fa, fb)
    if rank <= 8:
        best = max(
            sum(score[i, p[i]] for i in range(rank)) for p in itertools.permutations(range(rank))
        )
        return float(best / rank)
    total, used = 0.0, set()
    for i in np.argsort(-score.max(axis=1)):
        j = max((j for j in range(rank) if j not in used), key=lambda j: score[i, j])
        used.add(j)
        total += score[i, j]
    return float(total / rank)
