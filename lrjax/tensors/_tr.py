"""Tensor ring (tensor chain, matrix product state with periodic boundary)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import CoreSequence, TensorLyAPI, has_shape


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TRTensor(CoreSequence, TensorLyAPI):
    r"""A tensor ring :math:`\mathcal{X}_{i_0 \dots i_{N-1}} = \operatorname{tr}\big(
    G_0[:, i_0, :]\, G_1[:, i_1, :] \cdots G_{N-1}[:, i_{N-1}, :]\big)`.

    Attributes:
        cores: tuple of ``N`` cores, core ``k`` of shape ``(r_k, I_k, r_{k+1})``, the ring
            closed by ``r_N = r_0``.

    A tensor train is the ring with ``r_0 = 1``: ``TRTensor(tt.cores)`` converts a
    :class:`TTTensor`. Leading batch dimensions are allowed (results of ``jax.vmap``).
    Like TensorLy's ``TRTensor`` it is a sequence of its cores (``len(tr)``, ``tr[k]``,
    iteration), with TensorLy's :attr:`rank` (``N + 1`` entries, the last equal to the
    first) and object API (:meth:`to_tensor`, :meth:`to_unfolded`, :meth:`to_vec`); a
    TensorLy ``TRTensor`` converts with ``TRTensor(tuple(tl_tr))``.

    Examples:
        >>> import jax.numpy as jnp
        >>> tr = TRTensor((jnp.ones((2, 3, 2)), jnp.ones((2, 4, 2))))
        >>> tr.shape, tr.rank, float(tr.to_dense()[0, 0])
        ((3, 4), (2, 2, 2), 4.0)
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
        n = len(self.cores)
        for k in range(n):
            left, right = self.cores[k].shape, self.cores[(k + 1) % n].shape
            if left[-1] != right[-3]:
                closing = " (the ring closes: the last core's right rank is r_0)"
                closing = closing if k == n - 1 else ""
                raise ValueError(
                    f"`cores[{k}]` of shape {left} and `cores[{(k + 1) % n}]` of shape {right} "
                    f"must share their rank dimension{closing}."
                )

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the dense tensor."""
        return tuple(c.shape[-2] for c in self.cores)

    @property
    def rank(self) -> tuple[int, ...]:
        """TR ranks ``(r_0, r_1, ..., r_{N-1}, r_0)`` (TensorLy's convention)."""
        return (self.cores[0].shape[-3], *(c.shape[-1] for c in self.cores))

    def to_dense(self) -> Float[Array, "*dims"]:
        """The dense tensor: the chain contracted left to right, then the trace that closes
        the ring."""
        first = self.cores[0]
        r0 = first.shape[0]
        out = first.reshape(-1, first.shape[-1])  # (r_0 I_0, r_1)
        for core in self.cores[1:]:
            r, n, r_next = core.shape
            out = (out.reshape(-1, r) @ core.reshape(r, n * r_next)).reshape(-1, r_next)
        out = out.reshape(r0, -1, r0)
        return jnp.einsum("aia->i", out).reshape(self.shape)

    def norm(self) -> Float[Array, ""]:
        r"""Frobenius norm without the dense tensor: the trace of the product of the cores'
        transfer matrices :math:`E_k = \sum_i G_k[:, i, :] \otimes G_k[:, i, :]`
        (``O(N I r^5)`` instead of ``O(r^3 \prod I)``)."""
        first = self.cores[0]
        m = jnp.einsum("aib,cid->acbd", first, first)
        for core in self.cores[1:]:
            m = jnp.einsum("acbd,bie,dif->acef", m, core, core, optimize=True)
        return jnp.sqrt(jnp.maximum(jnp.einsum("acac->", m), 0.0))
