"""PARAFAC2 tensor: slices sharing a CP structure up to an orthogonal transformation."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Parafac2Tensor:
    r"""A PARAFAC2 tensor: slices :math:`X_k = P_k B \operatorname{diag}(\lambda \circ a_k)
    C^\top`, ``k = 0..K-1``, with :math:`P_k^\top P_k = I`.

    Slice ``k`` has ``J_k`` rows (the lengths may differ) and ``I`` columns. Slices are
    stored padded to ``J = max_k J_k``: rows ``J_k..J-1`` of ``projections[k]`` are zero, so
    ``to_dense()`` returns a ``(K, J, I)`` array whose padded rows are zero.

    Attributes:
        weights: :math:`\lambda`, shape ``(R,)``.
        factors: ``(A, B, C)``: ``A`` of shape ``(K, R)`` (one row per slice), ``B`` of shape
            ``(R, R)`` (the shared cross-product structure :math:`B_k^\top B_k = B^\top B`)
            and ``C`` of shape ``(I, R)``.
        projections: :math:`P_k`, shape ``(K, J, R)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> p = jnp.zeros((2, 3, 1)).at[:, 0, 0].set(1.0)
        >>> t = Parafac2Tensor(jnp.ones(1), (jnp.ones((2, 1)), jnp.ones((1, 1)),
        ...                    jnp.ones((4, 1))), p)
        >>> t.shape, t.rank, t.to_dense().shape
        ((2, 3, 4), 1, (2, 3, 4))
    """

    weights: Float[Array, " R"]
    factors: tuple[Float[Array, "K R"], Float[Array, "R R"], Float[Array, "I R"]]
    projections: Float[Array, "K J R"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        if not has_shape(self.weights, self.projections, *self.factors):
            return
        if len(self.factors) != 3:
            raise ValueError(f"`factors` must be (A, B, C), got {len(self.factors)} matrices.")
        rank = self.weights.shape[-1]
        a, b, c = self.factors
        expected = {"A": (a, None), "B": (b, rank), "C": (c, None)}
        for name, (f, rows) in expected.items():
            if f.ndim < 2 or f.shape[-1] != rank or (rows is not None and f.shape[-2] != rows):
                want = f"({rows}, {rank})" if rows is not None else f"(n, {rank})"
                raise ValueError(
                    f"`factors` {name} must have shape {want} to match `weights` of shape "
                    f"{self.weights.shape}, got {f.shape}."
                )
        p = self.projections
        if p.ndim < 3 or p.shape[-1] != rank or p.shape[-3] != a.shape[-2]:
            raise ValueError(
                f"`projections` must have shape ({a.shape[-2]}, J, {rank}) to match A of shape "
                f"{a.shape}, got {p.shape}."
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Padded shape ``(K, J, I)``."""
        return (self.factors[0].shape[-2], self.projections.shape[-2], self.factors[2].shape[-2])

    @property
    def ndim(self) -> int:
        """Number of modes (3)."""
        return 3

    @property
    def rank(self) -> int:
        """Number of components ``R``."""
        return self.weights.shape[-1]

    def to_dense(self) -> Float[Array, "K J I"]:
        """The padded slices as one ``(K, J, I)`` array (zero rows past each slice's length)."""
        a, b, c = self.factors
        b_k = jnp.einsum("kjr,rs->kjs", self.projections, b)
        return jnp.einsum("kjr,kr,ir->kji", b_k, a * self.weights, c)

    def to_slices(self, lengths) -> list[Array]:
        """The slices as a list, slice ``k`` cut to ``lengths[k]`` rows (eager only)."""
        dense = self.to_dense()
        return [dense[k, : int(n)] for k, n in enumerate(lengths)]

    def norm(self) -> Float[Array, ""]:
        r"""Frobenius norm of all slices, from the factors (:math:`P_k` is orthonormal)."""
        a, b, c = self.factors
        core = jnp.einsum("rs,ks->krs", b, a * self.weights)  # B diag(λ a_k), one per slice
        sq = jnp.einsum("krs,krt,st->", core, core, c.T @ c)
        return jnp.sqrt(jnp.maximum(sq, 0.0))
