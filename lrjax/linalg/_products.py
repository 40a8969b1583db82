"""Khatri-Rao and Kronecker products."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._sharding import partitioned


def khatri_rao(matrices: Sequence[Float[Array, "I R"]]) -> Float[Array, "prod R"]:
    r"""Column-wise Kronecker product :math:`A_0 \odot A_1 \odot \cdots`.

    Row index ``(i_0, i_1, ...)`` is flattened in C order (the first matrix varies slowest),
    as in ``tensorly.tenalg.khatri_rao``.

    Args:
        matrices: matrices with the same number of columns ``R``.

    Returns:
        Matrix of shape ``(prod(I_n), R)``.

    Raises:
        ValueError: if the list is empty or the column counts differ.

    Examples:
        >>> import jax.numpy as jnp
        >>> khatri_rao([jnp.ones((2, 3)), jnp.ones((4, 3))]).shape
        (8, 3)
    """
    matrices = list(matrices)
    if not matrices:
        raise ValueError("`matrices` must hold at least one matrix, got none.")
    rank = matrices[0].shape[-1]
    for n, m in enumerate(matrices):
        if m.ndim != 2 or m.shape[1] != rank:
            raise ValueError(
                f"`matrices[{n}]` must be a matrix with {rank} columns (as `matrices[0]`), "
                f"got shape {m.shape}."
            )
    return partitioned(_khatri_rao, tuple(matrices), like=matrices[0])


def _khatri_rao(matrices):
    rank = matrices[0].shape[-1]
    return functools.reduce(
        lambda a, b: (a[:, None, :] * b[None, :, :]).reshape(-1, rank), matrices
    )


def _kronecker(matrices):
    return functools.reduce(jnp.kron, matrices)


def kronecker(matrices: Sequence[Float[Array, "m n"]]) -> Float[Array, "M N"]:
    r"""Kronecker product :math:`A_0 \otimes A_1 \otimes \cdots` of matrices.

    Args:
        matrices: at least one matrix.

    Returns:
        Matrix of shape ``(prod(m_i), prod(n_i))``.

    Raises:
        ValueError: if the list is empty or an entry is not a matrix.
    """
    matrices = list(matrices)
    if not matrices:
        raise ValueError("`matrices` must hold at least one matrix, got none.")
    for n, m in enumerate(matrices):
        if m.ndim != 2:
            raise ValueError(f"`matrices[{n}]` must be a matrix, got shape {m.shape}.")
    return partitioned(_kronecker, tuple(matrices), like=matrices[0])
