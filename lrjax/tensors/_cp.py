"""CP (CANDECOMP/PARAFAC) tensor: a weighted sum of rank-one tensors."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import TensorLyAPI, check_mode, has_shape, mode_operand


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CPTensor(TensorLyAPI):
    r"""A CP tensor :math:`[\![\lambda; A^{(0)}, \dots, A^{(N-1)}]\!] =
    \sum_r \lambda_r\, a^{(0)}_r \circ \cdots \circ a^{(N-1)}_r`.

    Attributes:
        weights: :math:`\lambda`, shape ``(R,)``.
        factors: tuple of ``N`` factor matrices, factor ``n`` of shape ``(I_n, R)``.

    Leading batch dimensions are allowed (results of ``jax.vmap``); ``shape`` and ``rank``
    then describe one element of the batch, and ``to_dense`` should be vmapped too.

    Like TensorLy's ``CPTensor`` it unpacks as ``weights, factors = cp`` (``cp[0]`` is the
    weights, ``cp[1]`` the factors), so TensorLy's functions take it as it is
    (``tensorly.cp_to_tensor(cp)``), and it has TensorLy's object API: :meth:`to_tensor`,
    :meth:`to_unfolded`, :meth:`to_vec`, :meth:`normalize`; :meth:`components` selects
    rank-one components. A TensorLy ``CPTensor`` converts with ``CPTensor(*tl_cp)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> cp = CPTensor(jnp.ones(2), (jnp.ones((3, 2)), jnp.ones((4, 2))))
        >>> cp.shape, cp.rank, float(cp.to_dense()[0, 0])
        ((3, 4), 2, 2.0)
    """

    weights: Float[Array, " R"]
    factors: tuple[Float[Array, "I R"], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        if not has_shape(self.weights, *self.factors):
            return
        if len(self.factors) < 1:
            raise ValueError("`factors` must hold at least one factor matrix, got none.")
        if self.weights.ndim < 1:
            raise ValueError(f"`weights` must be a vector, got shape {self.weights.shape}.")
        rank = self.weights.shape[-1]
        for n, f in enumerate(self.factors):
            if f.ndim < 2 or f.shape[-1] != rank:
                raise ValueError(
                    f"`factors[{n}]` must have shape (I_{n}, {rank}) to match `weights` of "
                    f"shape {self.weights.shape}, got {f.shape}."
                )

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense tensor."""
        return tuple(f.shape[-2] for f in self.factors)

    @property
    def ndim(self) -> int:
        """Number of modes."""
        return len(self.factors)

    @property
    def rank(self) -> int:
        """Number of rank-one components ``R``."""
        return self.weights.shape[-1]

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor, as one GEMM ``(A_0 diag(λ)) (A_1 ⊙ ... ⊙ A_{N-1})^T``.

        Only the Khatri-Rao product of the trailing factors is formed (``prod(I_1..) x R``),
        never an ``I_0 x ... x R`` intermediate.
        """
        rank = self.rank
        first, *rest = self.factors
        if not rest:
            return first @ self.weights
        kr = functools.reduce(lambda a, b: (a[:, None, :] * b[None, :, :]).reshape(-1, rank), rest)
        return ((first * self.weights) @ kr.T).reshape(self.shape)

    def __iter__(self):
        """``weights, factors = cp``, as TensorLy's ``CPTensor``."""
        yield self.weights
        yield self.factors

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int):
        """``cp[0]`` is the weights and ``cp[1]`` the factors, as in TensorLy (use
        :meth:`components` to select rank-one components)."""
        if isinstance(index, bool) or index not in (0, 1, -1, -2):
            raise IndexError(
                f"A CPTensor unpacks as (weights, factors): index 0 or 1, got {index!r}; "
                "cp.components(...) selects rank-one components."
            )
        return (self.weights, self.factors)[index]

    def components(self, index) -> CPTensor:
        """The CP tensor of the rank-one components ``index`` (an int, a slice, an integer
        array or a boolean mask over ``range(rank)``); an int keeps a rank-1 CP tensor.

        Examples:
            >>> import jax.numpy as jnp
            >>> cp = CPTensor(jnp.array([3.0, 2.0, 1.0]), (jnp.eye(3), jnp.eye(3)))
            >>> cp.components(0).rank, cp.components(slice(1, None)).weights.tolist()
            (1, [2.0, 1.0])
        """
        if isinstance(index, int) and not isinstance(index, bool):
            if not -self.rank <= index < self.rank:
                raise IndexError(f"component {index} is out of range for rank {self.rank}.")
            index = slice(index, index + 1 if index != -1 else None)
        return CPTensor(self.weights[..., index], tuple(f[..., index] for f in self.factors))

    def normalize(self) -> CPTensor:
        """The same tensor with unit-norm factor columns, the norms moved into the weights
        (``tensorly.cp_normalize``; zero columns stay zero). Returns a new CPTensor."""
        weights, factors = self.weights, []
        for f in self.factors:
            norms = jnp.linalg.norm(f, axis=-2)
            weights = weights * norms
            factors.append(f / jnp.where(norms == 0, 1.0, norms)[..., None, :])
        return CPTensor(weights, tuple(factors))

    def mode_dot(self, matrix_or_vector: Array, mode: int) -> CPTensor:
        """The CP tensor of ``mode_dot(self.to_dense(), matrix_or_vector, mode)``, without the
        dense tensor (``tensorly.cp_mode_dot``): a ``(J, I_mode)`` matrix multiplies factor
        ``mode`` (``J`` rows); an ``(I_mode,)`` vector contracts the mode away, its products
        with the factor's columns moving into the weights.

        Raises:
            ValueError: for an operand whose last axis is not the mode's size, or a bad mode.
        """
        m, mode = mode_operand(self, matrix_or_vector, mode)
        factors = list(self.factors)
        if m.ndim == 2:
            factors[mode] = m @ factors[mode]
            return CPTensor(self.weights, tuple(factors))
        weights = self.weights * (m @ factors.pop(mode))
        return CPTensor(weights, tuple(factors))

    def flip_sign(self, mode: int = 0) -> CPTensor:
        """The same tensor with the mean of every column of the other factors made
        non-negative and the weights made non-negative, the signs moved into factor ``mode``
        (``tensorly.cp_flip_sign`` with its default ``func=mean``; a column of mean zero is
        left as it is; complex: the phase of the mean is removed).

        Raises:
            ValueError: for a ``mode`` that is not a mode of the tensor.
        """
        mode = check_mode(mode, self.ndim)
        factors = list(self.factors)
        for n, f in enumerate(factors):
            if n == mode:
                continue
            signs = jnp.sign(jnp.mean(f, axis=-2))  # complex: the phase
            signs = jnp.where(signs == 0, 1, signs).astype(f.dtype)  # a zero mean keeps it
            factors[n] = f * jnp.conj(signs)[..., None, :]
            factors[mode] = factors[mode] * signs[..., None, :]
        weight_signs = jnp.sign(self.weights)
        weight_signs = jnp.where(weight_signs == 0, 1, weight_signs).astype(self.weights.dtype)
        factors[mode] = factors[mode] * weight_signs[..., None, :]
        return CPTensor(jnp.abs(self.weights), tuple(factors))

    def norm(self) -> Float[Array, ""]:
        r"""Frobenius norm from the factors: :math:`\sqrt{\lambda^\top (\ast_n A_n^\top A_n)
        \lambda}`, no dense tensor."""
        gram = functools.reduce(jnp.multiply, [jnp.conj(f).T @ f for f in self.factors])
        sq = jnp.real(jnp.conj(self.weights) @ gram @ self.weights)  # complex: w^H (∗A^H A) w
        return jnp.sqrt(jnp.maximum(sq, 0.0))
