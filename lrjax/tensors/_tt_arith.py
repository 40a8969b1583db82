"""Tensor-train arithmetic without the dense tensor: sums, scalar and Hadamard products,
inner products and TT-matrix products (t3f's operations; rounding is :func:`lrjax.tt_round`).

Every function works on the cores alone, costs a polynomial in the ranks and the mode sizes
(never their product), and runs under ``jit``, ``vmap`` (batched TT objects: vmap over the
cores' leading axis) and ``grad``. Sums and products grow the ranks (``r_a + r_b`` and
``r_a r_b``); :func:`lrjax.tt_round` brings them back down.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._tt import TTMatrix, TTTensor

TT = TTTensor | TTMatrix


def _kind(name: str, x: Any) -> type[TTTensor] | type[TTMatrix]:
    if isinstance(x, TTTensor | TTMatrix):
        return type(x)
    raise TypeError(f"`{name}` must be a TTTensor or a TTMatrix, got {type(x).__name__}.")


def _modes(x: TT) -> tuple[tuple[int, ...], ...]:
    return (x.shape,) if isinstance(x, TTTensor) else (x.row_modes, x.col_modes)


def _same_structure(a: Any, b: Any) -> type[TTTensor] | type[TTMatrix]:
    kind = _kind("a", a)
    if _kind("b", b) is not kind:
        raise TypeError(
            f"`a` and `b` must both be TTTensors or both TTMatrices, got {type(a).__name__} "
            f"and {type(b).__name__}."
        )
    if _modes(a) != _modes(b):
        raise ValueError(
            f"`a` and `b` must have the same mode sizes, got {_modes(a)} and {_modes(b)}."
        )
    return kind


def tt_add(a: TT, b: TT) -> TT:
    r"""The sum ``a + b`` of two TT tensors (or two TT-matrices) of the same mode sizes.

    The cores of the sum are block diagonal, ``[[A_k, 0], [0, B_k]]`` (the first a row and
    the last a column of blocks), so the ranks add: ``r_k = r^a_k + r^b_k``. Exact; round the
    result with :func:`lrjax.tt_round` to bring the ranks back down. Also ``a + b`` and
    ``a - b``.

    Args:
        a, b: :class:`~lrjax.tensors.TTTensor` or :class:`~lrjax.tensors.TTMatrix`, both of
            one kind and with the same mode sizes.

    Returns:
        The sum, of the same kind.

    Raises:
        TypeError: when ``a`` or ``b`` is not a TT object, or they are of different kinds.
        ValueError: when their mode sizes differ.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (3, 4, 5), 2)
        >>> s = tt_add(a, a)
        >>> s.rank, bool(jax.numpy.allclose(s.to_dense(), 2 * a.to_dense(), atol=1e-5))
        ((1, 4, 4, 1), True)
    """
    kind = _same_structure(a, b)
    d = len(a.cores)
    dtype = jnp.result_type(a.cores[0], b.cores[0])
    if d == 1:
        return kind((a.cores[0] + b.cores[0],))
    rank_axis = -(kind._mode_axes + 2)
    cores = []
    for k, (ca, cb) in enumerate(zip(a.cores, b.cores, strict=True)):
        ca, cb = ca.astype(dtype), cb.astype(dtype)
        if k == 0:
            cores.append(jnp.concatenate([ca, cb], axis=-1))
        elif k == d - 1:
            cores.append(jnp.concatenate([ca, cb], axis=rank_axis))
        else:
            top = jnp.concatenate([ca, jnp.zeros((*ca.shape[:-1], cb.shape[-1]), dtype)], -1)
            bottom = jnp.concatenate([jnp.zeros((*cb.shape[:-1], ca.shape[-1]), dtype), cb], -1)
            cores.append(jnp.concatenate([top, bottom], axis=rank_axis))
    return kind(tuple(cores))


def tt_multiply(a: TT, b: TT | float | Array) -> TT:
    r"""``a`` times a scalar, or the elementwise (Hadamard) product of two TT objects.

    A scalar multiplies the first core (ranks unchanged). For two TT tensors (or two
    TT-matrices) the cores are the Kronecker products of the slices,
    ``C_k[:, i, :] = A_k[:, i, :] ⊗ B_k[:, i, :]``, so the ranks multiply. Also ``a * b``.

    Args:
        a: :class:`~lrjax.tensors.TTTensor` or :class:`~lrjax.tensors.TTMatrix`.
        b: a TT object of the same kind and mode sizes, or a scalar (a number or a 0-d array,
            possibly traced).

    Returns:
        The product, of ``a``'s kind.

    Raises:
        TypeError: for a non-TT ``a``, or ``b`` of another kind.
        ValueError: for mode sizes that differ, or a ``b`` array that is not a scalar.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (3, 4), 2)
        >>> tt_multiply(a, a).rank
        (1, 4, 1)
    """
    kind = _kind("a", a)
    if not isinstance(b, TTTensor | TTMatrix):
        scalar = jnp.asarray(b)
        if scalar.ndim != 0:
            raise ValueError(
                f"`b` must be a TT object or a scalar, got an array of shape {scalar.shape}."
            )
        return kind((a.cores[0] * scalar, *a.cores[1:]))
    _same_structure(a, b)
    spec = "...aijb,...cijd->...acijbd" if kind is TTMatrix else "...aib,...cid->...acibd"
    cores = []
    for ca, cb in zip(a.cores, b.cores, strict=True):
        c = jnp.einsum(spec, ca, cb)  # (..., r_a, r_b, modes..., r_a', r_b')
        mid = ca.shape[ca.ndim - kind._mode_axes - 1 : -1]
        lead = c.shape[: c.ndim - len(mid) - 4]
        cores.append(c.reshape(*lead, -1, *mid, ca.shape[-1] * cb.shape[-1]))
    return kind(tuple(cores))


def tt_inner(a: TT, b: TT) -> Float[Array, ""]:
    r"""The inner product :math:`\langle a, b \rangle = \sum_{i} a_i b_i` of two TT tensors
    (or TT-matrices, summed over all entries; t3f's ``flat_inner``).

    One sweep of ``r^a_k x r^b_k`` matrices: ``O(N I r^3)`` for mode size ``I`` and ranks
    ``r``, never the ``Π I_k`` entries. ``tt_inner(a, a)`` is ``a.norm() ** 2``.

    Args:
        a, b: TT objects of one kind with the same mode sizes.

    Returns:
        The inner product, a scalar.

    Raises:
        TypeError, ValueError: as :func:`tt_add`.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (3, 4, 5), 2)
        >>> bool(jax.numpy.allclose(tt_inner(a, a), a.norm() ** 2, rtol=1e-5))
        True
    """
    kind = _same_structure(a, b)
    spec = "...ab,...aijc,...bijd->...cd" if kind is TTMatrix else "...ab,...aic,...bid->...cd"
    dtype = jnp.result_type(a.cores[0], b.cores[0])
    gram = jnp.ones((1, 1), dtype)
    for ca, cb in zip(a.cores, b.cores, strict=True):
        gram = jnp.einsum(spec, gram, ca, cb)
    return gram[..., 0, 0]


def tt_matmul(a: TTMatrix, b: TTMatrix | TTTensor | Array) -> TTMatrix | TTTensor | Array:
    r"""The product of a TT-matrix with a TT-matrix, a TT vector, or a dense vector or matrix.

    ``C_k[:, i, l, :] = Σ_j A_k[:, i, j, :] ⊗ B_k[:, j, l, :]``: the ranks multiply and no
    dense matrix or vector is formed. ``b`` a :class:`~lrjax.tensors.TTTensor` of shape
    ``a.col_modes`` is the vector ``vec(b)`` (C order), and the result is the TT vector of
    ``A vec(b)`` with shape ``a.row_modes``. ``b`` a dense array of ``n = Π n_k`` rows (a
    vector ``(n,)`` or a matrix ``(n, k)``, t3f's ``tt_dense_matmul``) gives the dense
    ``A @ b``, contracted core by core without forming ``A``: about
    ``2 k Σ_k m_0..m_k r_k r_{k+1} n_k..n_{N-1}`` flops. Also ``a @ b``.

    Args:
        a: :class:`~lrjax.tensors.TTMatrix` with column modes ``(n_0, ..., n_{N-1})``.
        b: a TT-matrix with row modes ``(n_0, ...)``, a TT tensor of shape ``(n_0, ...)``, or
            a dense array of shape ``(Π n_k,)`` or ``(Π n_k, k)``.

    Returns:
        A TT-matrix (rows ``a.row_modes``, columns ``b.col_modes``), a TT tensor, or a dense
        array of shape ``(Π m_k,)`` or ``(Π m_k, k)``.

    Raises:
        TypeError: when ``a`` is not a TT-matrix or ``b`` not a TT object or an array.
        ValueError: when the inner modes (or a dense ``b``'s rows) do not match, a dense
            ``b`` that is not a vector or a matrix, or a batched ``a`` with a dense ``b`` (vmap
            over the batch instead).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> eye = TTMatrix((jnp.eye(3)[None, :, :, None], jnp.eye(4)[None, :, :, None]))
        >>> v = random_tt(jax.random.key(0), (3, 4), 2)
        >>> bool(jnp.allclose(tt_matmul(eye, v).to_dense(), v.to_dense()))
        True
    """
    if not isinstance(a, TTMatrix):
        raise TypeError(f"`a` must be a TTMatrix, got {type(a).__name__}.")
    if not isinstance(b, TTTensor | TTMatrix) and isinstance(b, jax.Array | np.ndarray | list):
        return _dense_matmul(a, b)
    kind = _kind("b", b)
    inner = b.row_modes if isinstance(b, TTMatrix) else b.shape
    if len(inner) != len(a.cores) or tuple(inner) != a.col_modes:
        raise ValueError(
            f"`b`'s {'row modes' if kind is TTMatrix else 'shape'} {tuple(inner)} must equal "
            f"`a`'s column modes {a.col_modes}."
        )
    spec = "...aijb,...cjkd->...acikbd" if kind is TTMatrix else "...aijb,...cjd->...acibd"
    cores = []
    for ca, cb in zip(a.cores, b.cores, strict=True):
        c = jnp.einsum(spec, ca, cb)  # (..., r_a, r_b, modes..., r_a', r_b')
        mid = c.shape[c.ndim - kind._mode_axes - 2 : -2]
        lead = c.shape[: c.ndim - len(mid) - 4]
        cores.append(c.reshape(*lead, -1, *mid, ca.shape[-1] * cb.shape[-1]))
    return kind(tuple(cores))


def _dense_matmul(a: TTMatrix, b: Any) -> Array:
    """``A @ b`` for a dense ``b``, core by core (see :func:`tt_matmul`)."""
    b = jnp.asarray(b)
    if not jnp.issubdtype(b.dtype, jnp.inexact):
        b = b.astype(jnp.result_type(float))
    n = math.prod(a.col_modes)
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(
            f"`b` must be a TT object or a dense array of shape ({n},) or ({n}, k) for `a`'s "
            f"column modes {a.col_modes}, got shape {b.shape}."
        )
    if any(c.ndim != 4 for c in a.cores):
        raise ValueError(
            "`a` is a batch of TT-matrices (cores with leading axes): multiply a dense `b` "
            "under jax.vmap, one TT-matrix at a time."
        )
    k = 1 if b.ndim == 1 else b.shape[1]
    modes = a.col_modes
    state = b.reshape(1, 1, modes[0], -1)  # (rows done, r_k, n_k, the rest of b)
    for j, core in enumerate(a.cores):
        state = jnp.einsum("arnR,rmns->amsR", state, core)
        following = modes[j + 1] if j + 1 < len(modes) else 1
        state = state.reshape(-1, core.shape[-1], following, state.shape[-1] // following)
    out = state.reshape(-1, k)
    return out[:, 0] if b.ndim == 1 else out


def tt_transpose(a: TTMatrix) -> TTMatrix:
    """The transpose of a TT-matrix (each core's two mode axes swapped).

    Raises:
        TypeError: when ``a`` is not a TT-matrix.
    """
    if not isinstance(a, TTMatrix):
        raise TypeError(f"`a` must be a TTMatrix, got {type(a).__name__}.")
    return a.transpose()


def tt_bilinear_form(a: TTMatrix, b: TTTensor, c: TTTensor) -> Float[Array, ""]:
    r"""The bilinear form :math:`b^\top A c` of a TT-matrix and two TT vectors, in one sweep
    (t3f's ``bilinear_form``; ``tt_bilinear_form(a, x, x)`` is its ``quadratic_form``).

    ``b`` has the shape ``a.row_modes`` and ``c`` the shape ``a.col_modes`` (the vectors
    ``vec(b)``, ``vec(c)`` in C order). One ``r^b r^a r^c`` carry per core: ``O(N m n r^4)``
    at most, never ``A c`` nor the dense matrix.

    Args:
        a: TT-matrix.
        b: TT tensor of shape ``a.row_modes``.
        c: TT tensor of shape ``a.col_modes``.

    Returns:
        The scalar ``vec(b)ᵀ A vec(c)``.

    Raises:
        TypeError: for arguments of other kinds.
        ValueError: for shapes that do not match ``a``'s modes.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_tt
        >>> x = random_tt(jax.random.key(0), (2, 3), 2)
        >>> eye = TTMatrix((jnp.eye(2)[None, :, :, None], jnp.eye(3)[None, :, :, None]))
        >>> bool(jnp.allclose(tt_bilinear_form(eye, x, x), x.norm() ** 2, rtol=1e-5))
        True
    """
    if not isinstance(a, TTMatrix):
        raise TypeError(f"`a` must be a TTMatrix, got {type(a).__name__}.")
    for name, v, modes in (("b", b, a.row_modes), ("c", c, a.col_modes)):
        if not isinstance(v, TTTensor):
            raise TypeError(f"`{name}` must be a TTTensor, got {type(v).__name__}.")
        if tuple(v.shape) != tuple(modes):
            raise ValueError(
                f"`{name}` must have shape {tuple(modes)} to match `a` ({a.shape}), got "
                f"{tuple(v.shape)}."
            )
    dtype = jnp.result_type(a.cores[0], b.cores[0], c.cores[0])
    carry = jnp.ones((1, 1, 1), dtype)
    for ca, cb, cc in zip(a.cores, b.cores, c.cores, strict=True):
        carry = jnp.einsum("...xyz,...xmp,...ymnq,...znr->...pqr", carry, cb, ca, cc)
    return carry[..., 0, 0, 0]
