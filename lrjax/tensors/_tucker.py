"""Tucker tensor: a core multiplied by a factor matrix along each mode."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import TensorLyAPI, has_shape, letters, mode_operand


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TuckerTensor(TensorLyAPI):
    r"""A Tucker tensor :math:`\mathcal{G} \times_0 U^{(0)} \times_1 \cdots \times_{N-1}
    U^{(N-1)}`.

    Attributes:
        core: :math:`\mathcal{G}`, shape ``(R_0, ..., R_{N-1})``.
        factors: tuple of ``N`` matrices, factor ``n`` of shape ``(I_n, R_n)``.

    Leading batch dimensions are allowed (results of ``jax.vmap``).

    Like TensorLy's ``TuckerTensor`` it unpacks as ``core, factors = t``, so TensorLy's
    functions take it as it is (``tensorly.tucker_to_tensor(t)``), and it has TensorLy's
    object API (:meth:`to_tensor`, :meth:`to_unfolded`, :meth:`to_vec`, :meth:`normalize`).
    A TensorLy ``TuckerTensor`` converts with ``TuckerTensor(*tl_tucker)``.

    Examples:
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

    def __iter__(self):
        """``core, factors = t``, as TensorLy's ``TuckerTensor``."""
        yield self.core
        yield self.factors

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int):
        """``t[0]`` is the core and ``t[1]`` the factors, as in TensorLy."""
        if isinstance(index, bool) or index not in (0, 1, -1, -2):
            raise IndexError(
                f"A TuckerTensor unpacks as (core, factors): index 0 or 1, got {index!r}."
            )
        return (self.core, self.factors)[index]

    def normalize(self) -> TuckerTensor:
        """The same tensor with unit-norm factor columns, the norms moved into the core
        (``tensorly.tucker_normalize``; zero columns stay zero). Returns a new TuckerTensor."""
        core, factors = self.core, []
        offset = self.core.ndim - self.ndim
        for n, f in enumerate(self.factors):
            norms = jnp.linalg.norm(f, axis=-2)
            shape = [1] * self.core.ndim
            shape[offset + n] = norms.shape[-1]
            core = core * norms.reshape(*norms.shape[:-1], *shape[norms.ndim - 1 :])
            factors.append(f / jnp.where(norms == 0, 1.0, norms)[..., None, :])
        return TuckerTensor(core, tuple(factors))

    def mode_dot(self, matrix_or_vector: Array, mode: int) -> TuckerTensor:
        """The Tucker tensor of ``mode_dot(self.to_dense(), matrix_or_vector, mode)``, without
        the dense tensor (``tensorly.tucker_mode_dot``): a ``(J, I_mode)`` matrix multiplies
        factor ``mode``; an ``(I_mode,)`` vector contracts the core's mode with ``vᵀ U_mode``
        and drops the mode.

        Raises:
            ValueError: for an operand whose last axis is not the mode's size, or a bad mode.
        """
        m, mode = mode_operand(self, matrix_or_vector, mode)
        factors = list(self.factors)
        if m.ndim == 2:
            factors[mode] = m @ factors[mode]
            return TuckerTensor(self.core, tuple(factors))
        core = jnp.tensordot(m @ factors.pop(mode), self.core, axes=(0, mode))
        return TuckerTensor(core, tuple(factors))

    def norm(self) -> Float[Array, ""]:
        r"""Frobenius norm from the factors: :math:`\sqrt{\langle \mathcal{G}, \mathcal{G}
        \times_n U_n^\top U_n \rangle}` (no dense tensor; exact also for non-orthogonal
        factors)."""
        ranks = letters(self.ndim)
        other = letters(self.ndim, skip=ranks)
        grams = [jnp.conj(f).T @ f for f in self.factors]  # complex: <G, G ×_n U_n^H U_n>
        spec = (
            ranks
            + ","
            + other
            + ","
            + ",".join(r + o for r, o in zip(ranks, other, strict=True))
            + "->"
        )
        sq = jnp.real(jnp.einsum(spec, jnp.conj(self.core), self.core, *grams, optimize="optimal"))
        return jnp.sqrt(jnp.maximum(sq, 0.0))
