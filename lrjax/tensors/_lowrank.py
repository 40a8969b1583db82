"""Low-rank matrix in SVD form."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LowRankMatrix:
    r"""A rank-:math:`r` matrix :math:`M = U \operatorname{diag}(s) V^\top`.

    Attributes:
        u: left factor, shape ``(m, r)``.
        s: singular values (or any scaling), shape ``(r,)``.
        vt: right factor, transposed, shape ``(r, n)``.

    Leading batch dimensions are allowed on all three (for results of ``jax.vmap``);
    ``shape`` and ``rank`` then describe one element of the batch.

    Examples:
        >>> import jax.numpy as jnp
        >>> m = LowRankMatrix(jnp.eye(3, 2), jnp.array([2.0, 1.0]), jnp.eye(2, 4))
        >>> m.shape, m.rank
        ((3, 4), 2)
    """

    u: Float[Array, "m r"]
    s: Float[Array, " r"]
    vt: Float[Array, "r n"]

    def __post_init__(self) -> None:
        if not has_shape(self.u, self.s, self.vt):
            return
        if self.u.ndim < 2 or self.vt.ndim < 2 or self.s.ndim < 1:
            raise ValueError(
                "`u` and `vt` must be matrices and `s` a vector, got shapes "
                f"{self.u.shape}, {self.s.shape}, {self.vt.shape}."
            )
        r_u, r_s, r_v = self.u.shape[-1], self.s.shape[-1], self.vt.shape[-2]
        if not r_u == r_s == r_v:
            raise ValueError(
                "`u` columns, `s` length and `vt` rows must agree, got shapes "
                f"u {self.u.shape}, s {self.s.shape}, vt {self.vt.shape}."
            )

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(m, n)`` of the dense matrix."""
        return (self.u.shape[-2], self.vt.shape[-1])

    @property
    def rank(self) -> int:
        """Number of rank-one terms ``r``."""
        return self.s.shape[-1]

    def to_dense(self) -> Float[Array, "m n"]:
        """The dense matrix ``U diag(s) V^T``."""
        return (self.u * self.s) @ self.vt

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm, computed from the factors (no dense matrix)."""
        gram_u = self.u.T @ self.u
        gram_v = self.vt @ self.vt.T
        sq = jnp.einsum("i,ij,j,ij->", self.s, gram_u, self.s, gram_v)
        return jnp.sqrt(jnp.maximum(sq, 0.0))
