"""Tensor train (matrix product state)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import CoreSequence, TensorLyAPI, has_shape


class _TensorTrain(CoreSequence, TensorLyAPI):
    """What TT tensors and TT-matrices share: the core checks, ranks, the sequence protocol
    (TensorLy's), the arithmetic operators and the norm. ``_mode_axes`` is the number of mode
    axes per core (1 for a tensor, 2 for a matrix)."""

    _mode_axes: ClassVar[int]
    cores: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "cores", tuple(self.cores))
        if not has_shape(*self.cores):
            return
        if len(self.cores) < 1:
            raise ValueError("`cores` must hold at least one core, got none.")
        dims = self._mode_axes + 2
        for k, c in enumerate(self.cores):
            if c.ndim < dims:
                raise ValueError(f"`cores[{k}]` must have {dims} dimensions, got shape {c.shape}.")
        if self.cores[0].shape[-dims] != 1 or self.cores[-1].shape[-1] != 1:
            raise ValueError(
                "The boundary TT ranks must be 1, got `cores[0]` of shape "
                f"{self.cores[0].shape} and `cores[-1]` of shape {self.cores[-1].shape}."
            )
        for k in range(len(self.cores) - 1):
            left, right = self.cores[k].shape, self.cores[k + 1].shape
            if left[-1] != right[-dims]:
                raise ValueError(
                    f"`cores[{k}]` of shape {left} and `cores[{k + 1}]` of shape {right} "
                    "must share their rank dimension."
                )

    @property
    def rank(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{N-1}, 1)``."""
        return (1, *(c.shape[-1] for c in self.cores))

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm by a left-to-right sweep of small Gram matrices (no dense tensor):
        ``sqrt(tt_inner(self, self))``."""
        from ._tt_arith import tt_inner

        this: Any = self  # a TTTensor or a TTMatrix
        conj = dataclasses.replace(this, cores=tuple(jnp.conj(c) for c in this.cores))
        return jnp.sqrt(jnp.maximum(jnp.real(tt_inner(conj, this)), 0.0))

    def __add__(self, other):
        from ._tt_arith import tt_add

        return tt_add(self, other)

    def __sub__(self, other):
        from ._tt_arith import tt_add, tt_multiply

        return tt_add(self, tt_multiply(other, -1.0))

    def __neg__(self):
        from ._tt_arith import tt_multiply

        return tt_multiply(self, -1.0)

    def __mul__(self, other):
        from ._tt_arith import tt_multiply

        return tt_multiply(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        from ._tt_arith import tt_multiply

        if isinstance(other, _TensorTrain):
            return NotImplemented  # no elementwise division of two tensor trains
        return tt_multiply(self, 1.0 / jnp.asarray(other))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TTTensor(_TensorTrain):
    r"""A tensor train :math:`\mathcal{X}_{i_0 \dots i_{N-1}} = G_0[:, i_0, :] \cdots
    G_{N-1}[:, i_{N-1}, :]`.

    Attributes:
        cores: tuple of ``N`` cores, core ``k`` of shape ``(r_k, I_k, r_{k+1})`` with
            ``r_0 = r_N = 1``.

    Leading batch dimensions are allowed (results of ``jax.vmap``).

    Like TensorLy's ``TTTensor`` it is a sequence of its cores (``len(tt)``, ``tt[k]``,
    iteration), so TensorLy's functions take it as it is (``tensorly.tt_to_tensor(tt)``), and
    it has TensorLy's object API (:meth:`to_tensor`, :meth:`to_unfolded`, :meth:`to_vec`).
    A TensorLy ``TTTensor`` converts with ``TTTensor(tuple(tl_tt))``. Arithmetic without the
    dense tensor: ``+``, ``-``, ``*`` and the ``tt_*`` functions of :mod:`lrjax.tensors`;
    rounding: :func:`lrjax.tt_round`.

    Examples:
        >>> import jax.numpy as jnp
        >>> tt = TTTensor((jnp.ones((1, 3, 2)), jnp.ones((2, 4, 1))))
        >>> tt.shape, tt.rank
        ((3, 4), (1, 2, 1))
    """

    _mode_axes: ClassVar[int] = 1
    cores: tuple[Float[Array, "r0 I r1"], ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense tensor."""
        return tuple(c.shape[-2] for c in self.cores)

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor (contracted left to right)."""
        out = self.cores[0].reshape(self.cores[0].shape[1], -1)
        for core in self.cores[1:]:
            r, n, r_next = core.shape
            out = (out.reshape(-1, r) @ core.reshape(r, n * r_next)).reshape(-1, r_next)
        return out.reshape(self.shape)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TTMatrix(_TensorTrain):
    r"""A matrix in tensor-train (matrix product operator) format:
    :math:`A[(i_0 \dots i_{N-1}), (j_0 \dots j_{N-1})] = G_0[:, i_0, j_0, :] \cdots
    G_{N-1}[:, i_{N-1}, j_{N-1}, :]`, rows and columns multi-indexed in C order (t3f's and
    TensorLy's ``TTMatrix`` layout).

    Attributes:
        cores: tuple of ``N`` cores, core ``k`` of shape ``(r_k, m_k, n_k, r_{k+1})`` with
            ``r_0 = r_N = 1``.

    Leading batch dimensions are allowed (results of ``jax.vmap``). It is a sequence of its
    cores like :class:`TTTensor`; ``a @ b`` multiplies by another TT-matrix or a
    :class:`TTTensor` (a vector of length ``Π n_k``) without forming either densely.

    Examples:
        >>> import jax.numpy as jnp
        >>> eye = TTMatrix((jnp.eye(2)[None, :, :, None], jnp.eye(3)[None, :, :, None]))
        >>> eye.shape, eye.row_modes, bool((eye.to_dense() == jnp.eye(6)).all())
        ((6, 6), (2, 3), True)
    """

    _mode_axes: ClassVar[int] = 2
    cores: tuple[Float[Array, "r0 m n r1"], ...]

    @property
    def row_modes(self) -> tuple[int, ...]:
        """``(m_0, ..., m_{N-1})``."""
        return tuple(c.shape[-3] for c in self.cores)

    @property
    def col_modes(self) -> tuple[int, ...]:
        """``(n_0, ..., n_{N-1})``."""
        return tuple(c.shape[-2] for c in self.cores)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense matrix, ``(Π m_k, Π n_k)``."""
        return (math.prod(self.row_modes), math.prod(self.col_modes))

    def to_dense(self) -> Float[Array, "M N"]:
        """The dense ``(Π m_k, Π n_k)`` matrix."""
        first = self.cores[0]
        out = first.reshape(-1, first.shape[-1])
        for core in self.cores[1:]:
            r = core.shape[0]
            out = (out.reshape(-1, r) @ core.reshape(r, -1)).reshape(-1, core.shape[-1])
        d = self.ndim
        out = out.reshape(*(s for pair in zip(self.row_modes, self.col_modes, strict=True)
                            for s in pair))  # fmt: skip
        out = out.transpose(*range(0, 2 * d, 2), *range(1, 2 * d, 2))
        return out.reshape(self.shape)

    def __matmul__(self, other):
        from ._tt_arith import tt_matmul

        return tt_matmul(self, other)

    def transpose(self) -> TTMatrix:
        """The transpose (each core's mode axes swapped)."""
        return TTMatrix(tuple(jnp.swapaxes(c, -3, -2) for c in self.cores))
