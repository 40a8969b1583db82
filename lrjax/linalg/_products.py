"""Khatri-Rao and Kronecker products."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._sharding import partitioned


def khatri_rao(
    matrices: Sequence[Float[Array, "I R"]],
    weights: Float[Array, " R"] | None = None,
    skip_matrix: int | None = None,
    mask: Array | None = None,
    reverse: bool = False,
) -> Float[Array, "prod R"]:
    r"""Column-wise Kronecker product :math:`A_0 \odot A_1 \odot \cdots`.

    Row index ``(i_0, i_1, ...)`` is flattened in C order (the first matrix varies slowest),
    as in ``tensorly.tenalg.khatri_rao``, whose optional arguments it takes too.

    Args:
        matrices: matrices with the same number of columns ``R``.
        weights: optional ``(R,)`` column weights (they scale the first matrix used).
        skip_matrix: index of a matrix to leave out (the MTTKRP's product of all but one).
        mask: optional row weights, ``prod(I_n)`` entries (any shape of that size).
        reverse: multiply the matrices in reverse order (the last varies slowest).

    Returns:
        Matrix of shape ``(prod(I_n), R)``.

    Raises:
        ValueError: if no matrix is left, the column counts differ, ``weights`` has another
            length, ``mask`` another size, or ``skip_matrix`` is not an index of ``matrices``.

    Examples:
        >>> import jax.numpy as jnp
        >>> khatri_rao([jnp.ones((2, 3)), jnp.ones((4, 3))]).shape
        (8, 3)
        >>> ms = [jnp.ones((2, 3)), jnp.ones((4, 3)), jnp.ones((5, 3))]
        >>> khatri_rao(ms, skip_matrix=1).shape
        (10, 3)
    """
    matrices = _selected("matrices", matrices, skip_matrix, reverse)
    rank = matrices[0].shape[-1]
    for n, m in enumerate(matrices):
        if m.ndim != 2 or m.shape[1] != rank:
            raise ValueError(
                f"`matrices[{n}]` must be a matrix with {rank} columns (as `matrices[0]`), "
                f"got shape {m.shape}."
            )
    if weights is not None:
        weights = jnp.asarray(weights)
        if weights.shape != (rank,):
            raise ValueError(f"`weights` must have shape ({rank},), got {weights.shape}.")
        matrices[0] = matrices[0] * weights
    out = partitioned(_khatri_rao, tuple(matrices), like=matrices[0])
    if mask is not None:
        mask = jnp.asarray(mask)
        if mask.size != out.shape[0]:
            raise ValueError(f"`mask` must have {out.shape[0]} entries, got shape {mask.shape}.")
        out = out * mask.reshape(-1, 1)
    return out


def _selected(name: str, matrices, skip_matrix, reverse) -> list:
    """The matrices a product uses, as arrays: ``skip_matrix`` left out, ``reverse`` applied."""
    matrices = [jnp.asarray(m) for m in matrices]
    if skip_matrix is not None:
        n = len(matrices)
        if (
            isinstance(skip_matrix, bool)
            or not isinstance(skip_matrix, int | np.integer)
            or not (-n <= skip_matrix < n)
        ):
            raise ValueError(
                f"`skip_matrix` must be an index of `{name}` (of {n}), got {skip_matrix!r}."
            )
        del matrices[int(skip_matrix) % n]
    if reverse:
        matrices = matrices[::-1]
    if not matrices:
        raise ValueError(f"`{name}` must hold at least one matrix, got none.")
    return matrices


def _khatri_rao(matrices):
    rank = matrices[0].shape[-1]
    return functools.reduce(
        lambda a, b: (a[:, None, :] * b[None, :, :]).reshape(-1, rank), matrices
    )


def _kronecker(matrices):
    return functools.reduce(jnp.kron, matrices)


def kronecker(
    matrices: Sequence[Float[Array, "m n"]], skip_matrix: int | None = None, reverse: bool = False
) -> Float[Array, "M N"]:
    r"""Kronecker product :math:`A_0 \otimes A_1 \otimes \cdots` of matrices
    (``tensorly.tenalg.kronecker``'s optional arguments included).

    Args:
        matrices: at least one matrix.
        skip_matrix: index of a matrix to leave out.
        reverse: multiply the matrices in reverse order.

    Returns:
        Matrix of shape ``(prod(m_i), prod(n_i))``.

    Raises:
        ValueError: if no matrix is left, an entry is not a matrix, or ``skip_matrix`` is not
            an index of ``matrices``.
    """
    matrices = _selected("matrices", matrices, skip_matrix, reverse)
    for n, m in enumerate(matrices):
        if m.ndim != 2:
            raise ValueError(f"`matrices[{n}]` must be a matrix, got shape {m.shape}.")
    return partitioned(_kronecker, tuple(matrices), like=matrices[0])
