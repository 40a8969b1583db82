"""Tensor-train decomposition by sequential truncated SVDs (TT-SVD)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks
from .._sharding import partitioned
from ..linalg._gemm import factor_gemm
from ..linalg._svd import leading_left_singular_vectors
from ..tensors import TTTensor


def _split_step(mat: Array, rank: int) -> tuple[Array, Array]:
    """``mat ≈ u @ (u.T @ mat)`` with ``u`` the ``rank`` leading left singular vectors."""
    u = leading_left_singular_vectors(mat, rank)
    return u, factor_gemm(u, mat, contract=0)


@functools.partial(jax.jit, static_argnames=("ranks",))
def _tt_svd(x, *, ranks):
    cores = []
    rest = x
    prev = 1
    for k, r in enumerate(ranks):
        mat = rest.reshape(prev * x.shape[k], -1)
        u, rest = _split_step(mat, r)
        cores.append(u.reshape(prev, x.shape[k], r))
        prev = r
    cores.append(rest.reshape(prev, x.shape[-1], 1))
    return TTTensor(tuple(cores))


def tt_svd(
    x: Float[Array, "*dims"],
    max_rank: int | Sequence[int] | None = None,
    *,
    max_ranks: int | Sequence[int] | None = None,
) -> TTTensor:
    r"""Tensor-train decomposition by TT-SVD with fixed maximal ranks (jit-able).

    Sweeps left to right: reshape the remainder to ``(r_{k} I_k, rest)``, keep its
    ``r_{k+1}`` leading left singular vectors as core ``k`` and carry their projection on.
    The error obeys :math:`\|\mathcal{X} - \hat{\mathcal{X}}\|_F^2 \le \sum_k \epsilon_k^2`,
    the sum of the discarded squared singular values of each step. Ranks above what the
    shape allows (``r_k <= min(prod(I_0..I_{k-1}), prod(I_k..I_{N-1}))``) are clipped.

    Args:
        x: tensor with ``N >= 2`` modes.
        max_rank: the largest rank per bond: an int for all internal ranks, ``N - 1``
            internal ranks, or ``N + 1`` ranks with 1 at both ends (static).
        max_ranks: deprecated name of ``max_rank`` (one release, with a warning).

    Returns:
        ``TTTensor``; cores ``0..N-2`` are left-orthonormal with fixed signs.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, or invalid ranks.
        TypeError: without ``max_rank``, or with both ``max_rank`` and ``max_ranks``.

    Examples:
        >>> import jax.numpy as jnp
        >>> tt = tt_svd(jnp.ones((3, 4, 5)), 2)  # ranks are fixed, not chosen from the data
        >>> tt.rank
        (1, 2, 2, 1)
        >>> bool(jnp.allclose(tt.to_dense(), 1.0, atol=1e-5))
        True

    References:
        I. V. Oseledets, "Tensor-train decomposition", SIAM J. Sci. Comput. 33(5), 2011,
        Algorithm 1. Same model as ``tensorly.decomposition.tensor_train``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    max_rank = _checks.renamed("max_rank", max_rank, "max_ranks", max_ranks)
    ranks = _checks.ranks("max_rank", max_rank, x.ndim, form="tt", sizes=x.shape, clip=True)
    # A unit step rank is kept as given; ranks are already clipped to what the shape allows.
    return partitioned(_tt_svd, x, ranks=ranks)


def tt_svd_adaptive(
    x: Float[Array, "*dims"], *, eps: float, max_rank: int | None = None
) -> TTTensor:
    r"""TT-SVD with ranks chosen from the data to meet a relative accuracy (eager only).

    Each step truncates its SVD at the smallest rank whose discarded tail has norm at most
    :math:`\delta = \epsilon \|\mathcal{X}\|_F / \sqrt{N-1}`, so that
    :math:`\|\mathcal{X} - \hat{\mathcal{X}}\|_F \le \epsilon \|\mathcal{X}\|_F`
    (Oseledets 2011, Theorem 2.2). The ranks depend on the values of ``x``, so this function
    cannot run under ``jit``/``vmap``; use :func:`tt_svd` with fixed ``max_rank`` there.

    Args:
        x: concrete tensor with ``N >= 2`` modes.
        eps: relative accuracy, ``eps >= 0``.
        max_rank: optional cap on every internal rank.

    Returns:
        ``TTTensor`` with data-dependent ranks.

    Raises:
        ValueError: for a traced ``x``, fewer than 2 modes, NaN/inf, or ``eps < 0``.
    """
    if not _checks.is_concrete(x):
        raise ValueError(
            "`x` must be concrete: tt_svd_adaptive chooses ranks from the data and cannot run "
            "under jit or vmap; use tt_svd(x, max_rank) there."
        )
    x = _checks.as_array("x", x, min_ndim=2)
    if isinstance(eps, bool) or not isinstance(eps, int | float | np.number) or not eps >= 0:
        raise ValueError(f"`eps` must be a non-negative number, got {eps!r}.")
    if not math.isfinite(eps):
        raise ValueError(f"`eps` must be finite, got {eps!r}.")
    if max_rank is not None:
        max_rank = _checks.positive_int("max_rank", max_rank)
    # a concrete x captured by a jitted caller is still computed eagerly
    with jax.ensure_compile_time_eval():
        return _tt_svd_adaptive(x, float(eps), max_rank)


def _tt_svd_adaptive(x, eps, max_rank):
    delta = eps * float(jnp.linalg.norm(x.ravel())) / math.sqrt(x.ndim - 1)
    cores, rest, prev = [], x, 1
    for k in range(x.ndim - 1):
        mat = rest.reshape(prev * x.shape[k], -1)
        s = np.asarray(jnp.linalg.svd(mat, compute_uv=False))
        tail = np.sqrt(np.cumsum((s**2)[::-1]))[::-1]  # tail[r] = ||s[r:]||
        r = int(np.argmax(np.append(tail, 0.0) <= delta))
        r = max(r, 1)
        if max_rank is not None:
            r = min(r, max_rank)
        u, rest = _split_step(mat, r)
        cores.append(u.reshape(prev, x.shape[k], r))
        prev = r
    cores.append(rest.reshape(prev, x.shape[-1], 1))
    return TTTensor(tuple(cores))
