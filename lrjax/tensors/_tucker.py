"""Tucker tensor: a core multiplied by a factor matrix along each mode."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape, letters


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TuckerTensor:
    r"""A Tucker tensor :math:`\mathcal{G} \times_0 U^{(0)} \times_1 \cdots \times_{N-1}
    U^{(N-1)}`.

    Attributes:
        core: :math:`\mathcal{G}`, shape ``(R_0, ..., R_{N-1})``.
        factors: tuple of ``N`` matrices, factor ``n`` of shape ``(I_n, R_n)``.

    Leading batch dimensions are allowed (results of ``jax.vmap``).

    Example:
        >>> import jax.numpy as jnp
        >>> t = TuckerTensor(jnp.ones((2, 1)), (jnp.ones((3, 2)), jnp.ones((4, 1))))
        >>> t.shape, t.rank
        ((3, 4), (2, 1))
    """

    core: Float[Array, "*ranks"]
    factors: tuple[Float[Array, "I R"], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        if not has_shape(self.core, *self.factors):
            return
        n_modes = len(self.factors)
        if n_modes < 1 or self.core.ndim < n_modes:
            raise ValueError(
                f"`core` must have one dimension per factor ({n_modes}), "
                f"got shape {self.core.shape}."
            )
        offset = self.core.ndim - n_modes
        for n, f in enumerate(self.factors):
            if f.ndim < 2 or f.shape[-1] != self.core.shape[offset + n]:
                raise ValueError(
                    f"`factors[{n}]` must have {self.core.shape[offset + n]} columns to match "
                    f"`core` of shape {self.core.shape}, got shape {f.shape}."
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
    def rank(self) -> tuple[int, ...]:
        """Multilinear rank ``(R_0, ..., R_{N-1})`` (the core's shape)."""
        return tuple(f.shape[-1] for f in self.factors)

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor."""
        ranks = letters(self.ndim)
        dims = letters(self.ndim, skip=ranks)
        spec = ranks + "," + ",".join(d + r for d, r in zip(dims, ranks, strict=True))
        return jnp.einsum(spec + "->" + dims, self.core, *self.factors, optimize="optimal")

    def norm(self) -> Float[Array, ""]:
        r"""Frobenius norm from the factors: :math:`\sqrt{\langle \mathcal{G}, \mathcal{G}
        \times_n U_n^\top U_n \rangle}` (no dense tensor; exact also for non-orthogonal
        factors)."""
        ranks = letters(self.ndim)
        other = letters(self.ndim, skip=ranks)
        grams = [f.T @ f for f in self.factors]
        spec = (
            ranks
            + ","
            + other
            + ","
            + ",".join(r + o for r, o in zip(ranks, other, strict=True))
            + "->"
        )
        sq = jnp.einsum(spec, self.core, self.core, *grams, optimize="optimal")
        return jnp.sqrt(jnp.maximum(sq, 0.0))
