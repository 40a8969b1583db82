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
from ..tensors import TTMatrix, TTTensor
from ._common import split_step


@functools.partial(jax.jit, static_argnames=("ranks",))
def _tt_svd(x, *, ranks):
    cores = []
    rest = x
    prev = 1
    for k, r in enumerate(ranks):
        mat = rest.reshape(prev * x.shape[k], -1)
        u, rest = split_step(mat, r)
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
        x: tensor with ``N >= 2`` modes, real or complex.
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
    x = _checks.as_array("x", x, min_ndim=2, complex_ok=True)
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
    x = _checks.as_array("x", x, min_ndim=2, complex_ok=True)
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
        u, rest = split_step(mat, r)
        cores.append(u.reshape(prev, x.shape[k], r))
        prev = r
    cores.append(rest.reshape(prev, x.shape[-1], 1))
    return TTTensor(tuple(cores))


def tt_matrix_svd(
    x: Float[Array, ...],
    max_rank: int | Sequence[int],
    *,
    row_modes: Sequence[int] | None = None,
    col_modes: Sequence[int] | None = None,
) -> TTMatrix:
    r"""Tensor-train matrix (matrix product operator) decomposition by TT-SVD (jit-able).

    The matrix :math:`A[(i_0 \dots i_{N-1}), (j_0 \dots j_{N-1})]` is regrouped so that mode
    ``k`` pairs the row index ``i_k`` with the column index ``j_k`` (an order-``N`` tensor of
    mode sizes ``m_k n_k``), decomposed by :func:`tt_svd`, and each core split back into
    ``(r_k, m_k, n_k, r_{k+1})``: the format of the TT layers (:class:`lrjax.nn.TTLinear`)
    and of :class:`~lrjax.tensors.TTMatrix`. The error bound is :func:`tt_svd`'s.

    Args:
        x: either an order-``2N`` tensor of shape ``(m_0, ..., m_{N-1}, n_0, ..., n_{N-1})``
            (TensorLy's ``tensor_train_matrix`` input), or a ``(Π m_k, Π n_k)`` matrix with
            ``row_modes`` and ``col_modes`` given (rows and columns multi-indexed in C order).
        max_rank: the largest rank per bond, as for :func:`tt_svd` (``N`` modes; static).
        row_modes, col_modes: ``(m_0, ..., m_{N-1})`` and ``(n_0, ..., n_{N-1})`` when ``x`` is
            a matrix (static).

    Returns:
        :class:`~lrjax.tensors.TTMatrix` with ``to_dense()`` of shape ``(Π m_k, Π n_k)``.

    Raises:
        ValueError: for an odd number of modes, modes that do not match the matrix, NaN/inf in
            an eager call, or invalid ranks.

    Examples:
        >>> import jax.numpy as jnp
        >>> tt = tt_matrix_svd(jnp.eye(6), 1, row_modes=(2, 3), col_modes=(2, 3))
        >>> tt.rank, bool(jnp.allclose(tt.to_dense(), jnp.eye(6), atol=1e-6))
        ((1, 1, 1), True)

    References:
        I. V. Oseledets, "Approximation of 2^d x 2^d matrices using tensor decomposition",
        SIAM J. Matrix Anal. Appl. 31(4), 2010. Same model as
        ``tensorly.decomposition.tensor_train_matrix``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    if row_modes is None and col_modes is None:
        if x.ndim % 2 or x.ndim < 4:
            raise ValueError(
                "`x` must be an order-2N tensor (N >= 2 row modes, then N column modes) or a "
                f"matrix with `row_modes` and `col_modes`, got shape {x.shape}."
            )
        n = x.ndim // 2
        rows, cols = tuple(x.shape[:n]), tuple(x.shape[n:])
    else:
        if row_modes is None or col_modes is None or x.ndim != 2:
            raise ValueError(
                "`row_modes` and `col_modes` go together and need a 2-D `x`, got shape "
                f"{x.shape}, row_modes={row_modes!r}, col_modes={col_modes!r}."
            )
        rows = tuple(_checks.positive_int("row_modes", m) for m in row_modes)
        cols = tuple(_checks.positive_int("col_modes", m) for m in col_modes)
        if len(rows) != len(cols) or len(rows) < 2:
            raise ValueError(
                f"`row_modes` {rows} and `col_modes` {cols} must have the same length, >= 2."
            )
        if (math.prod(rows), math.prod(cols)) != x.shape:
            raise ValueError(
                f"`row_modes` {rows} and `col_modes` {cols} give a "
                f"{math.prod(rows)} x {math.prod(cols)} matrix, but `x` has shape {x.shape}."
            )
        n = len(rows)
    paired = (
        x.reshape(*rows, *cols)
        .transpose(*(a for k in range(n) for a in (k, n + k)))
        .reshape(*(m * c for m, c in zip(rows, cols, strict=True)))
    )
    tt = tt_svd(paired, max_rank)
    cores = tuple(
        core.reshape(core.shape[0], m, c, core.shape[-1])
        for core, m, c in zip(tt.cores, rows, cols, strict=True)
    )
    return TTMatrix(cores)
