"""Block term tensor: a sum of low multilinear rank (Tucker) terms."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape, letters


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class BlockTermTensor:
    r"""A sum of ``P`` Tucker terms of multilinear rank ``(L_0, ..., L_{N-1})``:
    :math:`\sum_{p} \mathcal{G}_p \times_0 U^{(0)}_p \times_1 \cdots \times_{N-1}
    U^{(N-1)}_p`.

    A rank-(L, L, 1) decomposition is the case ``L_2 = 1``; a CP tensor the case of all
    ``L_n = 1``.

    Attributes:
        cores: :math:`\mathcal{G}_p` stacked, shape ``(P, L_0, ..., L_{N-1})``.
        factors: tuple of ``N`` stacks, factor ``n`` of shape ``(P, I_n, L_n)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> t = BlockTermTensor(jnp.ones((2, 2, 2, 1)),
        ...                     (jnp.ones((2, 4, 2)), jnp.ones((2, 3, 2)), jnp.ones((2, 5, 1))))
        >>> t.shape, t.rank, t.n_blocks
        ((4, 3, 5), (2, 2, 1), 2)
    """

    cores: Float[Array, "P ..."]
    factors: tuple[Float[Array, "P I L"], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        if not has_shape(self.cores, *self.factors):
            return
        n = len(self.factors)
        if n < 2 or self.cores.ndim < n + 1:
            raise ValueError(
                f"`cores` must have shape (P, L_0, ..., L_{n - 1}) for {n} factors, "
                f"got {self.cores.shape}."
            )
        offset = self.cores.ndim - n
        for k, f in enumerate(self.factors):
            want = (self.cores.shape[offset - 1], self.cores.shape[offset + k])
            if f.ndim < 3 or (f.shape[-3], f.shape[-1]) != want:
                raise ValueError(
                    f"`factors[{k}]` must have shape ({want[0]}, I_{k}, {want[1]}) to match "
                    f"`cores` of shape {self.cores.shape}, got {f.shape}."
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
        """Multilinear rank of each block, ``(L_0, ..., L_{N-1})``."""
        return tuple(f.shape[-1] for f in self.factors)

    @property
    def n_blocks(self) -> int:
        """Number of blocks ``P``."""
        return self.cores.shape[-self.ndim - 1]

    def _contract(self, *, keep_blocks: bool) -> Array:
        """Cores times factors, summed over the blocks unless ``keep_blocks``."""
        ranks = letters(self.ndim, skip="z")
        dims = letters(self.ndim, skip="z" + ranks)
        spec = "z" + ranks + "," + ",".join("z" + d + r for d, r in zip(dims, ranks, strict=True))
        out = ("z" if keep_blocks else "") + dims
        return jnp.einsum(spec + "->" + out, self.cores, *self.factors, optimize="optimal")

    def blocks(self) -> Float[Array, "P ..."]:
        """Each block as a dense tensor, stacked: shape ``(P, I_0, ..., I_{N-1})``."""
        return self._contract(keep_blocks=True)

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor (sum of the blocks)."""
        return self._contract(keep_blocks=False)

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm (through the dense tensor; blocks are not orthogonal)."""
        return jnp.linalg.norm(self.to_dense().ravel())
