"""Unfolding, folding and mode-n products (TensorLy's C-order conventions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float

from .._checks import densified


def _check_mode(mode: int, ndim: int) -> int:
    if isinstance(mode, bool) or not isinstance(mode, int) or not -ndim <= mode < ndim:
        raise ValueError(f"`mode` must be an int in [{-ndim}, {ndim}), got {mode!r}.")
    return mode % ndim


def unfold(x: Float[Array, "*dims"], mode: int) -> Float[Array, "I_n rest"]:
    r"""Mode-``n`` unfolding (matricization) :math:`X_{(n)}` of shape ``(I_n, prod(others))``.

    The remaining modes keep their order and are flattened in C order, as in TensorLy
    (``tensorly.unfold``), so that for a CP tensor
    ``unfold(x, n) = A_n diag(w) khatri_rao([A_m for m != n]).T``.

    Args:
        x: tensor of shape ``(I_0, ..., I_{N-1})``.
        mode: the mode ``n`` that becomes the rows.

    Returns:
        The matrix :math:`X_{(n)}`.

    Raises:
        ValueError: if ``mode`` is not a valid axis of ``x``.

    Examples:
        >>> import jax.numpy as jnp
        >>> unfold(jnp.arange(24.0).reshape(2, 3, 4), 1).shape
        (3, 8)
    """
    x = jnp.asarray(densified(x))
    mode = _check_mode(mode, x.ndim)
    return jnp.moveaxis(x, mode, 0).reshape(x.shape[mode], -1)


def fold(
    unfolded: Float[Array, "I_n rest"], mode: int, shape: Sequence[int]
) -> Float[Array, "*dims"]:
    """Inverse of :func:`unfold`: refold a mode-``n`` unfolding into ``shape``.

    Args:
        unfolded: matrix of shape ``(shape[mode], prod(other sizes))``.
        mode: the mode that the rows index.
        shape: the full tensor shape.

    Returns:
        The tensor ``x`` with ``unfold(x, mode) == unfolded``.

    Raises:
        ValueError: if the sizes do not match.
    """
    shape = tuple(int(s) for s in shape)
    mode = _check_mode(mode, len(shape))
    moved = (shape[mode], *shape[:mode], *shape[mode + 1 :])
    if unfolded.size != math.prod(shape) or unfolded.shape[0] != shape[mode]:
        raise ValueError(
            f"`unfolded` of shape {unfolded.shape} does not fit `shape` {shape} at mode {mode}."
        )
    return jnp.moveaxis(unfolded.reshape(moved), 0, mode)


def mode_dot(
    x: Float[Array, "*dims"], matrix_or_vector: Float[Array, ...], mode: int
) -> Float[Array, "*out"]:
    r"""Mode-``n`` product :math:`\mathcal{X} \times_n M`.

    A matrix ``M`` of shape ``(J, I_n)`` replaces mode ``n`` by a mode of size ``J``; a vector
    of length ``I_n`` contracts mode ``n`` away. Same convention as ``tensorly.tenalg.mode_dot``.

    Args:
        x: tensor of shape ``(I_0, ..., I_{N-1})``.
        matrix_or_vector: ``(J, I_n)`` matrix or ``(I_n,)`` vector.
        mode: the mode ``n``.

    Returns:
        The product tensor.

    Raises:
        ValueError: if the sizes do not match.

    Examples:
        >>> import jax.numpy as jnp
        >>> mode_dot(jnp.ones((2, 3, 4)), jnp.ones((5, 3)), 1).shape
        (2, 5, 4)
    """
    x = jnp.asarray(densified(x))
    mode = _check_mode(mode, x.ndim)
    m = matrix_or_vector
    if m.ndim not in (1, 2) or m.shape[-1] != x.shape[mode]:
        raise ValueError(
            f"`matrix_or_vector` of shape {m.shape} cannot multiply mode {mode} of a tensor "
            f"of shape {x.shape}: its last dimension must be {x.shape[mode]}."
        )
    if m.ndim == 2:
        # A transposed factor (``u.T``) would otherwise be folded into the dot's dimension
        # numbers, which XLA:CPU runs 2-4x slower than the plain row-major GEMM.
        m = lax.optimization_barrier(m)
    out = jnp.tensordot(m, x, axes=((m.ndim - 1,), (mode,)))
    if m.ndim == 1:
        return out
    return jnp.moveaxis(out, 0, mode)


def multi_mode_dot(
    x: Float[Array, "*dims"],
    matrices: Sequence[Float[Array, ...]],
    modes: Sequence[int] | None = None,
    *,
    skip: int | None = None,
    transpose: bool = False,
) -> Float[Array, "*out"]:
    r"""Chain of mode products :math:`\mathcal{X} \times_{m_0} M_0 \times_{m_1} M_1 \cdots`.

    Args:
        x: tensor of shape ``(I_0, ..., I_{N-1})``.
        matrices: the matrices (or vectors), one per entry of ``modes``.
        modes: the modes; defaults to ``range(len(matrices))``.
        skip: a mode to leave out (its matrix is ignored), as in TensorLy.
        transpose: multiply by ``M.T`` instead of ``M`` (projection onto factor columns).

    Returns:
        The product tensor. Vectors contract their mode away; modes refer to ``x``'s axes.

    Raises:
        ValueError: if the number of matrices and modes differ, a mode is out of range or
            repeated, ``skip`` is not a mode, or a size does not match.
    """
    x = jnp.asarray(densified(x))
    matrices = [jnp.asarray(m) for m in matrices]
    if modes is None:
        modes = list(range(len(matrices)))
    modes = list(modes)
    if len(modes) != len(matrices):
        raise ValueError(
            f"`modes` ({len(modes)} entries) and `matrices` ({len(matrices)}) must match."
        )
    for m in modes:
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or not -x.ndim <= m < x.ndim:
            raise ValueError(
                f"`modes` must hold ints in [{-x.ndim}, {x.ndim}) for `x` of shape {x.shape}, "
                f"got {modes!r}."
            )
    modes = [int(m) % x.ndim for m in modes]
    if len(set(modes)) != len(modes):
        raise ValueError(f"`modes` must not repeat a mode, got {modes!r}.")
    if skip is not None and (
        isinstance(skip, bool) or not isinstance(skip, int) or not -x.ndim <= skip < x.ndim
    ):
        raise ValueError(f"`skip` must be an int in [{-x.ndim}, {x.ndim}) or None, got {skip!r}.")
    for i, (m, mat) in enumerate(zip(modes, matrices, strict=True)):
        size = mat.shape[0] if (transpose and mat.ndim == 2) else mat.shape[-1]
        if skip is not None and m == skip % x.ndim:
            continue
        if mat.ndim not in (1, 2) or size != x.shape[m]:
            raise ValueError(
                f"`matrices[{i}]` of shape {mat.shape} cannot multiply mode {m} of `x` of "
                f"shape {x.shape}"
                + (" (transposed)" if transpose else "")
                + f": it must be a matrix or vector with {x.shape[m]} "
                + ("rows." if transpose and mat.ndim == 2 else "columns (last dimension).")
            )
    # Apply in decreasing mode order so that vector contractions do not shift later axes.
    order = sorted(range(len(modes)), key=lambda i: -modes[i])
    out = x
    for i in order:
        if skip is not None and modes[i] == skip % x.ndim:
            continue
        mat = matrices[i].T if (transpose and matrices[i].ndim == 2) else matrices[i]
        out = mode_dot(out, mat, modes[i])
    return out
