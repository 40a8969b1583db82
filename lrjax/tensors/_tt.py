"""Tensor train (matrix product state)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TTTensor:
    r"""A tensor train :math:`\mathcal{X}_{i_0 \dots i_{N-1}} = G_0[:, i_0, :] \cdots
    G_{N-1}[:, i_{N-1}, :]`.

    Attributes:
        cores: tuple of ``N`` cores, core ``k`` of shape ``(r_k, I_k, r_{k+1})`` with
            ``r_0 = r_N = 1``.

    Leading batch dimensions are allowed (results of ``jax.vmap``).

    Example:
        >>> import jax.numpy as jnp
        >>> tt = TTTensor((jnp.ones((1, 3, 2)), jnp.ones((2, 4, 1))))
        >>> tt.shape, tt.rank
        ((3, 4), (1, 2, 1))
    """

    cores: tuple[Float[Array, "r0 I r1"], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cores", tuple(self.cores))
        if not has_shape(*self.cores):
            return
        if len(self.cores) < 1:
            raise ValueError("`cores` must hold at least one core, got none.")
        for k, c in enumerate(self.cores):
            if c.ndim < 3:
                raise ValueError(f"`cores[{k}]` must have 3 dimensions, got shape {c.shape}.")
        if self.cores[0].shape[-3] != 1 or self.cores[-1].shape[-1] != 1:
            raise ValueError(
                "The boundary TT ranks must be 1, got `cores[0]` of shape "
                f"{self.cores[0].shape} and `cores[-1]` of shape {self.cores[-1].shape}."
            )
        for k in range(len(self.cores) - 1):
            left, right = self.cores[k].shape, self.cores[k + 1].shape
            if left[-1] != right[-3]:
                raise ValueError(
                    f"`cores[{k}]` of shape {left} and `cores[{k + 1}]` of shape {right} "
                    "must share their rank dimension."
                )

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense tensor."""
        return tuple(c.shape[-2] for c in self.cores)

    @property
    def ndim(self) -> int:
        """Number of modes."""
        return len(self.cores)

    @property
    def rank(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{N-1}, 1)``."""
        return (1, *(c.shape[-1] for c in self.cores))

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor (contracted left to right)."""
        out = self.cores[0].reshape(self.cores[0].shape[1], -1)
        for core in self.cores[1:]:
            r, n, r_next = core.shape
            out = (out.reshape(-1, r) @ core.reshape(r, n * r_next)).reshape(-1, r_next)
        return out.reshape(self.shape)

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm by a left-to-right sweep of small Gram matrices (no dense tensor)."""
        gram = jnp.ones((1, 1), dtype=self.cores[0].dtype)
        for core in self.cores:
            gram = jnp.einsum("ab,aic,bid->cd", gram, core, core)
        return jnp.sqrt(jnp.maximum(gram[0, 0], 0.0))
