"""Matricized tensor times Khatri-Rao product, without forming the Khatri-Rao product.

Contractions run one mode at a time: the first is a single GEMM against the tensor viewed as
a matrix, the rest shrink the intermediate while sharing the rank index. The partial products
over a leading or trailing block of modes (``partial_mttkrp``) are what a dimension-tree ALS
sweep reuses across the modes of the other block.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .. import _checks
from ..tensors._base import letters
from ._gemm import factor_gemm


def rank_first_partial(x: Array, factors: Sequence[Array], modes: Sequence[int]) -> Array:
    """:func:`partial_mttkrp` with the rank index first: shape ``(R, kept sizes...)``.

    The layout the dimension-tree CP sweep works in: one GEMM with the factor's transpose on
    the left, then rank-shared contractions that are batched dots over the leading rank axis
    (no transposed copies of the intermediate).
    """
    n = x.ndim
    modes = sorted({int(m) % n for m in modes})
    if not modes:
        raise ValueError("`modes` must name at least one mode, got none.")
    rank = factors[modes[0]].shape[1]
    if modes == list(range(n - len(modes), n)):  # trailing block
        last = modes[-1]
        out = factor_gemm(factors[last], x.reshape(-1, x.shape[last]), contract=1)
        out = out.reshape(rank, *x.shape[:last])
        for m in reversed(modes[:-1]):  # contract the last axis, rank shared
            out = jnp.einsum("r...i,ir->r...", out, factors[m])
        return out
    if modes == list(range(len(modes))):  # leading block
        first = modes[0]
        out = factor_gemm(factors[first], x.reshape(x.shape[first], -1), contract=0)
        out = out.reshape(rank, *x.shape[first + 1 :])
        for m in modes[1:]:  # contract the axis after the rank axis, rank shared
            out = jnp.einsum("ri...,ir->r...", out, factors[m])
        return out
    keep = [m for m in range(n) if m not in modes]
    idx = letters(n, skip="z")
    spec = idx + "," + ",".join(f"{idx[m]}z" for m in modes)
    spec += "->z" + "".join(idx[m] for m in keep)
    return jnp.einsum(spec, x, *[factors[m] for m in modes], optimize="optimal")


def _check_factors(
    x: Array, factors: Sequence[Array], skip: int | None, only: Sequence[int] | None = None
) -> int:
    if len(factors) != x.ndim:
        raise ValueError(
            f"`factors` must hold one matrix per mode of `x` ({x.ndim}), got {len(factors)}."
        )
    rank = None
    for n, f in enumerate(factors):
        if n == skip or (only is not None and n not in only):
            continue
        f = jnp.asarray(f)
        if f.ndim != 2 or f.shape[0] != x.shape[n]:
            raise ValueError(
                f"`factors[{n}]` must have shape ({x.shape[n]}, R) for `x` of shape "
                f"{x.shape}, got {f.shape}."
            )
        if rank is None:
            rank = f.shape[1]
        elif f.shape[1] != rank:
            raise ValueError(
                f"All factors must have the same number of columns, `factors[{n}]` has "
                f"{f.shape[1]}, expected {rank}."
            )
    return rank if rank is not None else 0


def partial_mttkrp(
    x: Float[Array, "*dims"], factors: Sequence[Float[Array, "I R"]], modes: Sequence[int]
) -> Float[Array, "*rest R"]:
    """Contract ``x`` with the columns of the factors of ``modes``, keeping the rank index.

    ``out[i_keep..., r] = sum_{i_modes} x[...] prod_{m in modes} factors[m][i_m, r]``. The
    kept modes stay in order and the rank index comes last. ``modes`` that form a leading or
    trailing block run as one GEMM plus cheap rank-shared contractions; other sets fall back
    to a single ``einsum``.

    Args:
        x: tensor of shape ``(I_0, ..., I_{N-1})``.
        factors: one matrix per mode (entries for modes not contracted are ignored).
        modes: the modes to contract, at least one, none repeated.

    Returns:
        Tensor of shape ``(kept sizes..., R)``.

    Raises:
        ValueError: for modes out of range or repeated, or factors that do not fit ``x``.
    """
    x = jnp.asarray(x)
    modes = list(modes)
    if not modes or any(
        isinstance(m, bool) or not isinstance(m, int) or not -x.ndim <= m < x.ndim for m in modes
    ):
        raise ValueError(
            f"`modes` must be a non-empty list of ints in [{-x.ndim}, {x.ndim}) for `x` of "
            f"shape {x.shape}, got {modes!r}."
        )
    modes = [m % x.ndim for m in modes]
    if len(set(modes)) != len(modes):
        raise ValueError(f"`modes` must not repeat a mode, got {modes!r}.")
    skip = [n for n in range(x.ndim) if n not in modes]
    _check_factors(x, factors, skip=None, only=modes)
    del skip
    return jnp.moveaxis(rank_first_partial(x, factors, modes), 0, -1)


def mttkrp(
    x: Float[Array, "*dims"], factors: Sequence[Float[Array, "I R"]], mode: int
) -> Float[Array, "I_n R"]:
    r"""Matricized tensor times Khatri-Rao product for one mode.

    .. math:: M = X_{(n)} \bigl(\odot_{m \ne n} A_m\bigr)

    computed without forming the Khatri-Rao product: the trailing modes are contracted by one
    GEMM and then one mode at a time with the rank index shared, then the leading ones.
    Equals ``unfold(x, n) @ khatri_rao([factors[m] for m != n])``.

    Args:
        x: tensor of shape ``(I_0, ..., I_{N-1})``, ``N >= 2``; dense, or sparse as a
            ``jax.experimental.sparse.BCOO`` (then :func:`coordinate_mttkrp`, ``O(nnz R N)``,
            the dense tensor never formed).
        factors: one ``(I_m, R)`` matrix per mode; ``factors[mode]`` is ignored.
        mode: the mode ``n``.

    Returns:
        Matrix of shape ``(I_n, R)``.

    Raises:
        ValueError: if the factor shapes do not fit ``x``.

    Examples:
        >>> import jax.numpy as jnp
        >>> x = jnp.ones((2, 3, 4))
        >>> mttkrp(x, [jnp.ones((2, 5)), jnp.ones((3, 5)), jnp.ones((4, 5))], 0)[0, 0]
        Array(12., dtype=float32)
    """
    if x.ndim < 2:
        raise ValueError(f"`x` must have at least 2 dimensions, got shape {x.shape}.")
    if isinstance(mode, bool) or not isinstance(mode, int) or not -x.ndim <= mode < x.ndim:
        raise ValueError(f"`mode` must be an int in [{-x.ndim}, {x.ndim}), got {mode!r}.")
    mode %= x.ndim
    _check_factors(x, factors, skip=mode)
    if _checks.is_bcoo(x):
        coo: Any = x  # a jax.experimental.sparse.BCOO
        if coo.n_batch or coo.n_dense:
            raise ValueError(
                f"`x` must be a BCOO array without batch or dense dimensions, got "
                f"n_batch={coo.n_batch}, n_dense={coo.n_dense}."
            )
        return coordinate_mttkrp(coo.indices, coo.data, factors, mode, x.shape[mode])
    n = x.ndim
    if mode < n - 1:
        out = rank_first_partial(x, factors, range(mode + 1, n))  # (R, I_0..I_mode)
        for m in range(mode):  # leading modes, rank shared
            out = jnp.einsum("ri...,ir->r...", out, factors[m])
        return out.T
    return rank_first_partial(x, factors, range(n - 1)).T


def coordinate_rows(
    indices: Int[Array, "nnz N"], factors, skip: int | None = None
) -> Float[Array, "nnz R"]:
    """``Π_{m≠skip} A_m[i_m, :]`` for every stored coordinate ``(i_0, ..., i_{N-1})``: the rows
    of the Khatri-Rao product (or, with ``skip=None``, of the CP model's components) that a
    tensor in coordinate form touches, one gather per mode."""
    gathered = [a[indices[:, m]] for m, a in enumerate(factors) if m != skip]
    return functools.reduce(jnp.multiply, gathered)


def coordinate_mttkrp(
    indices: Int[Array, "nnz N"], values: Float[Array, " nnz"], factors, mode: int, size: int
) -> Float[Array, "I_n R"]:
    """The MTTKRP of a tensor in coordinate form: for every stored entry ``(i_0, ..., i_{N-1};
    v)``, the row ``v · Π_{m≠mode} A_m[i_m, :]`` added into row ``i_mode`` of the ``(size, R)``
    result (:func:`coordinate_rows` and a segment sum; repeated coordinates add)."""
    rows = values[:, None] * coordinate_rows(indices, factors, skip=mode)
    return jax.ops.segment_sum(rows, indices[:, mode], num_segments=size)
