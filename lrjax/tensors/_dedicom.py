"""DEDICOM and PARATUCK2 tensors: slices A D_k R D_k A^T and A D^A_k R D^B_k B^T."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import has_shape


def _check(name: str, arr, want: tuple, ref: str) -> None:
    got = tuple(arr.shape[-len(want) :]) if arr.ndim >= len(want) else arr.shape
    if arr.ndim < len(want) or any(
        w is not None and g != w for g, w in zip(got, want, strict=True)
    ):
        shown = "(" + ", ".join("n" if w is None else str(w) for w in want) + ")"
        raise ValueError(f"`{name}` must have shape {shown} to match {ref}, got {arr.shape}.")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DedicomTensor:
    r"""Three-way DEDICOM: frontal slices :math:`X_k = A D_k R D_k A^\top` (``I x I``) with
    :math:`D_k = \operatorname{diag}(d_k)`.

    Attributes:
        a: loadings :math:`A`, shape ``(I, P)``.
        r: asymmetric relations among the ``P`` aspects, shape ``(P, P)``.
        d: slice weights, row ``k`` is :math:`d_k`, shape ``(K, P)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> t = DedicomTensor(jnp.ones((4, 2)), jnp.eye(2), jnp.ones((3, 2)))
        >>> t.shape, t.rank, float(t.to_dense()[0, 0, 0])
        ((4, 4, 3), 2, 2.0)
    """

    a: Float[Array, "I P"]
    r: Float[Array, "P P"]
    d: Float[Array, "K P"]

    def __post_init__(self) -> None:
        if not has_shape(self.a, self.r, self.d):
            return
        p = self.a.shape[-1] if self.a.ndim >= 2 else None
        _check("a", self.a, (None, None), "a matrix")
        _check("r", self.r, (p, p), f"`a` of shape {self.a.shape}")
        _check("d", self.d, (None, p), f"`a` of shape {self.a.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape ``(I, I, K)`` of the dense tensor."""
        return (self.a.shape[-2], self.a.shape[-2], self.d.shape[-2])

    @property
    def ndim(self) -> int:
        """Number of modes (3)."""
        return 3

    @property
    def rank(self) -> int:
        """Number of aspects ``P``."""
        return self.a.shape[-1]

    def to_dense(self) -> Float[Array, "I I K"]:
        """The slices stacked along the last mode."""
        return jnp.einsum("ip,kp,pq,kq,jq->ijk", self.a, self.d, self.r, self.d, self.a)

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm."""
        return jnp.linalg.norm(self.to_dense().ravel())


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Paratuck2Tensor:
    r"""PARATUCK2: frontal slices :math:`X_k = A D^A_k R D^B_k B^\top` (``I x J``) with
    :math:`D^A_k = \operatorname{diag}(d^A_k)`, :math:`D^B_k = \operatorname{diag}(d^B_k)`.

    Attributes:
        a: mode-0 loadings, shape ``(I, P)``.
        da: mode-0 slice weights, shape ``(K, P)``.
        r: interactions, shape ``(P, Q)``.
        db: mode-1 slice weights, shape ``(K, Q)``.
        b: mode-1 loadings, shape ``(J, Q)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> t = Paratuck2Tensor(jnp.ones((4, 2)), jnp.ones((3, 2)), jnp.ones((2, 1)),
        ...                     jnp.ones((3, 1)), jnp.ones((5, 1)))
        >>> t.shape, t.rank
        ((4, 5, 3), (2, 1))
    """

    a: Float[Array, "I P"]
    da: Float[Array, "K P"]
    r: Float[Array, "P Q"]
    db: Float[Array, "K Q"]
    b: Float[Array, "J Q"]

    def __post_init__(self) -> None:
        if not has_shape(self.a, self.da, self.r, self.db, self.b):
            return
        _check("a", self.a, (None, None), "a matrix")
        _check("b", self.b, (None, None), "a matrix")
        p, q = self.a.shape[-1], self.b.shape[-1]
        ref = f"`a` {self.a.shape} and `b` {self.b.shape}"
        _check("r", self.r, (p, q), ref)
        _check("da", self.da, (None, p), ref)
        _check("db", self.db, (self.da.shape[-2], q), f"{ref} and `da` {self.da.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape ``(I, J, K)`` of the dense tensor."""
        return (self.a.shape[-2], self.b.shape[-2], self.da.shape[-2])

    @property
    def ndim(self) -> int:
        """Number of modes (3)."""
        return 3

    @property
    def rank(self) -> tuple[int, int]:
        """``(P, Q)``: the numbers of mode-0 and mode-1 components."""
        return (self.a.shape[-1], self.b.shape[-1])

    def to_dense(self) -> Float[Array, "I J K"]:
        """The slices stacked along the last mode."""
        return jnp.einsum("ip,kp,pq,kq,jq->ijk", self.a, self.da, self.r, self.db, self.b)

    def norm(self) -> Float[Array, ""]:
        """Frobenius norm."""
        return jnp.linalg.norm(self.to_dense().ravel())
