"""Helpers shared by the factorized containers: index letters and leaf checks."""

from __future__ import annotations

import abc
import string
from typing import Any

import jax.numpy as jnp

LETTERS = string.ascii_letters


def letters(n: int, *, skip: str = "") -> str:
    """The first ``n`` einsum letters, avoiding those in ``skip``."""
    pool = [c for c in LETTERS if c not in skip]
    if n > len(pool):
        raise ValueError(f"Too many modes for einsum: {n} > {len(pool)}.")
    return "".join(pool[:n])


def has_shape(*leaves: Any) -> bool:
    """True when every leaf is array-like (so containers can validate it).

    JAX rebuilds pytrees with stand-in leaves (``None``, ``object()``) inside its
    transformations; validation is skipped for those.
    """
    return all(hasattr(leaf, "shape") and hasattr(leaf, "ndim") for leaf in leaves)


class TensorLyAPI(abc.ABC):
    """The object API TensorLy users expect of a factorized tensor, on top of ``to_dense``.

    Mixed into the containers; every method works from the fields, so it also runs under
    ``jit`` and ``grad`` (vmap the call for a batched container).
    """

    @abc.abstractmethod
    def to_dense(self) -> Any:
        """The dense tensor."""

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense tensor."""

    def to_tensor(self) -> Any:
        """The dense tensor (TensorLy's name for :meth:`to_dense`)."""
        return self.to_dense()

    def to_vec(self) -> Any:
        """The dense tensor flattened in C order (``tensorly.tensor_to_vec``)."""
        return self.to_dense().reshape(-1)

    def to_unfolded(self, mode: int) -> Any:
        """The mode-``mode`` unfolding of the dense tensor, in TensorLy's convention
        (:func:`lrjax.linalg.unfold`: the other modes flattened in C order).

        Raises:
            ValueError: for a ``mode`` that is not a mode of the tensor.
        """
        ndim = len(self.shape)
        if isinstance(mode, bool) or not isinstance(mode, int) or not -ndim <= mode < ndim:
            raise ValueError(f"`mode` must be an integer in [0, {ndim}), got {mode!r}.")
        mode %= ndim
        x = self.to_dense()
        return jnp.moveaxis(x, mode, 0).reshape(self.shape[mode], -1)


def check_mode(mode: Any, ndim: int) -> int:
    """``mode`` as a mode index in ``[0, ndim)`` (negative counts from the end), or raise."""
    if isinstance(mode, bool) or not isinstance(mode, int) or not -ndim <= mode < ndim:
        raise ValueError(f"`mode` must be an integer in [0, {ndim}), got {mode!r}.")
    return mode % ndim


def mode_operand(tensor: Any, matrix_or_vector: Any, mode: Any) -> tuple[Any, int]:
    """Check the operand of a factorized ``mode_dot``: a ``(J, I_mode)`` matrix or an
    ``(I_mode,)`` vector, and ``mode`` a mode of ``tensor``; returns ``(operand, mode)``."""
    ndim = len(tensor.shape)
    mode = check_mode(mode, ndim)
    m = jnp.asarray(matrix_or_vector)
    size = tensor.shape[mode]
    if m.ndim not in (1, 2) or m.shape[-1] != size:
        raise ValueError(
            f"`matrix_or_vector` must have shape (J, {size}) or ({size},) for mode {mode} of a "
            f"tensor of shape {tuple(tensor.shape)}, got {m.shape}."
        )
    if m.ndim == 1 and ndim == 1:
        raise ValueError(
            "`matrix_or_vector` is a vector and the tensor has one mode: the result is a "
            "scalar, not a factorized tensor; use jnp.dot(v, t.to_dense())."
        )
    return m, mode


class CoreSequence:
    """TensorLy's sequence protocol of a chain of cores (TT tensors and matrices, tensor
    rings): ``len(t)``, ``t[k]``, iteration, and ``ndim`` as the number of cores."""

    cores: tuple

    @property
    def ndim(self) -> int:
        """Number of cores (modes of a TT tensor or a tensor ring)."""
        return len(self.cores)

    def __iter__(self):
        """The cores, as TensorLy's ``TTTensor`` / ``TTMatrix`` / ``TRTensor``."""
        return iter(self.cores)

    def __len__(self) -> int:
        return len(self.cores)

    def __getitem__(self, index: int):
        """Core ``index``, as in TensorLy."""
        return self.cores[index]
