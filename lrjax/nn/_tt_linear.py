"""Tensor-train matrix (TT-matrix) dense layer (Novikov et al., NIPS 2015)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Unpack

import jax
import jax.numpy as jnp
from flax import nnx

from .. import _checks
from ..decomposition import tt_svd
from ._common import DenseOptions, FactorizedLinear, kernel_of, tensor_of
from ._init import check_modes, part_std

__all__ = ["TTLinear"]


def _tt_ranks(ranks, d: int) -> tuple[int, ...]:
    """All ``d + 1`` TT ranks, 1 at both ends, from any form :func:`lrjax._checks.ranks` takes."""
    return (1, *_checks.ranks("ranks", ranks, d, form="tt"), 1)


def _tt_merge(cores, einsum=jnp.einsum) -> jax.Array:
    """Contract TT-matrix cores ``(r, i, j, s)`` into ``(r_0 I, J, r_end)`` (C-order merges).

    For a first core with ``r_0 = 1`` the leading axis is just ``I``; the trailing rank axis is
    kept so halves of a train can be merged separately.
    """
    first = cores[0]
    t = first.reshape(first.shape[0] * first.shape[1], first.shape[2], first.shape[3])
    for core in cores[1:]:
        t = einsum("IJr,rijs->IiJjs", t, core)
        t = t.reshape(t.shape[0] * t.shape[1], t.shape[2] * t.shape[3], t.shape[4])
    return t


class TTLinear(FactorizedLinear):
    """Dense layer with a tensor-train matrix (TT-matrix) kernel.

    .. math:: W_{(i_1 \\dots i_d),(j_1 \\dots j_d)} = G_1[:, i_1, j_1, :] \\cdots
        G_d[:, i_d, j_d, :],

    cores ``G_k`` of shape ``(r_{k-1}, in_k, out_k, r_k)`` with ``r_0 = r_d = 1``. The layer
    contracts the input with the two halves of the train, each merged once (two batched
    matmuls, like a rank-``r_s`` Kronecker sum), and does not form ``W``, except for a batch
    of rows so large that the contraction's ``(rows, I_R, J_L, r_s)`` intermediate would hold
    more than four times as many numbers as ``W``: then it forms ``W`` from the two halves and
    does one matmul (for 256 -> 1536 at TT-rank 9 that is from 342 rows on, and 2.5x faster
    at 4,096 rows on the 2-core CPU; a GRU's input map over a whole sequence is such a batch).

    The arguments not listed here are as for :class:`CPLinear`: ``in_features``,
    ``out_features``, ``in_modes``, ``out_modes``, ``use_bias``, ``materialize``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (one factor per core).

    Args:
        ranks: an int (every inner rank), the ``d - 1`` inner ranks, or all ``d + 1`` ranks
            such as ``(1, 9, 9, 9, 1)``.

    Examples:
        >>> from flax import nnx
        >>> layer = TTLinear(256, 512, (1, 3, 3, 3, 1), in_modes=(4, 4, 4, 4),
        ...                  out_modes=(8, 4, 4, 4), rngs=nnx.Rngs(0))
        >>> layer.num_params
        944

    References:
        Novikov, Podoprikhin, Osokin & Vetrov, "Tensorizing neural networks", NIPS 2015.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int],
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        use_bias: bool = True,
        materialize: bool = False,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[DenseOptions],
    ):
        opts = self._setup_common(
            in_features, out_features, use_bias, materialize, dtype, param_dtype, rngs, options
        )
        self.in_modes = check_modes("in_modes", in_modes, in_features, None)
        self.out_modes = check_modes("out_modes", out_modes, out_features, len(self.in_modes))
        d = len(self.in_modes)
        if len(self.out_modes) != d:
            raise ValueError(
                f"in_modes={self.in_modes} and out_modes={self.out_modes} need the same length "
                "(a TT-matrix pairs input and output modes; pad the shorter with 1s)"
            )
        self.ranks = _tt_ranks(ranks, d)
        std = part_std(1.0 / in_features, math.prod(self.ranks), d)
        shapes = [
            (self.ranks[k], self.in_modes[k], self.out_modes[k], self.ranks[k + 1])
            for k in range(d)
        ]
        self.cores = nnx.List(self._factors(rngs, shapes, std, opts))
        self._normalize_init(opts)

    def _parts(self):
        return [c[...] for c in self.cores]

    def _einsum(self, spec, *operands):
        return jnp.einsum(spec, *operands, precision=self.precision, _dot_general=self.dot_general)

    def _param_list(self):
        return list(self.cores)

    def _prepare(self, parts):
        # Contract the left and right halves of the train once: the product then costs two
        # batched matmuls instead of one small contraction per core.
        s = len(parts) // 2 if len(parts) > 1 else 1
        left = _tt_merge(parts[:s], self._einsum)  # (I_L, J_L, r_s)
        right = _tt_merge(parts[s:], self._einsum) if s < len(parts) else None
        return left, right

    def _apply_prepared(self, x, prepared):
        left, right = prepared
        if right is None:
            return self._mm(x, left[..., 0])
        batch = x.shape[0]
        i_l, j_l, r_s = left.shape
        i_r = self.in_features // i_l
        right = right[..., 0].reshape(r_s, i_r, -1)  # (r_s, I_R, J_R)
        if batch * i_r * j_l * r_s > 4 * self.in_features * self.out_features:
            # the (B, I_R, J_L, r_s) intermediate would dwarf W: one matmul by W is faster
            w = self._einsum("ikr,rjl->ijkl", left, right)
            return self._mm(x, w.reshape(self.in_features, self.out_features))
        t = x.reshape(batch, i_l, i_r)
        t = self._einsum("bij,ikr->bjkr", t, left)
        y = self._einsum("bjkr,rjl->bkl", t, right)
        return y.reshape(batch, self.out_features)

    def _matrix(self, parts):
        return _tt_merge(parts, self._einsum)[..., 0].reshape(self.in_features, self.out_features)

    def _flops(self):
        d = len(self.in_modes)
        s = d // 2 if d > 1 else 1
        i_l, j_l = math.prod(self.in_modes[:s]), math.prod(self.out_modes[:s])
        i_r, j_r = math.prod(self.in_modes[s:]), math.prod(self.out_modes[s:])
        r = self.ranks[s]
        if s == d:
            return 2 * self.in_features * self.out_features
        return 2 * (i_l * i_r * j_l * r + i_r * j_l * r * j_r)

    @classmethod
    def from_dense(
        cls,
        layer,
        ranks: int | Sequence[int],
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        materialize: bool = False,
    ) -> TTLinear:
        """TT layer from a trained dense layer by :func:`lrjax.tt_svd` (Oseledets 2011).

        The kernel is reshaped to ``(in_1 out_1, ..., in_d out_d)`` and decomposed with the given
        maximal ranks (ranks that cannot be reached are capped, as TT-SVD does).
        ``compression_error`` is the relative error of the TT-SVD projection,
        ``sqrt(||W||^2 - ||W_tt||^2) / ||W||`` (TT-SVD is an orthogonal projection, so this is
        exact).
        """
        kernel, bias = kernel_of(layer)
        n_in, n_out = kernel.shape
        in_modes = check_modes("in_modes", in_modes, n_in, None)
        out_modes = check_modes("out_modes", out_modes, n_out, len(in_modes))
        d = len(in_modes)
        if len(out_modes) != d:
            raise ValueError(
                f"in_modes={in_modes} and out_modes={out_modes} need the same length "
                "(a TT-matrix pairs input and output modes; pad the shorter with 1s)"
            )
        wanted = _tt_ranks(ranks, d)
        t = tensor_of(kernel, in_modes, out_modes)
        t = t.transpose([a for k in range(d) for a in (k, d + k)])
        t = t.reshape([i * o for i, o in zip(in_modes, out_modes, strict=True)])
        tt = tt_svd(t, wanted[1:-1])
        cores = [
            c.reshape(c.shape[0], i, o, c.shape[-1])
            for c, i, o in zip(tt.cores, in_modes, out_modes, strict=True)
        ]
        total = jnp.sum(kernel * kernel)
        error = jnp.sqrt(jnp.maximum(total - jnp.sum(cores[-1] ** 2), 0.0) / total)
        out = cls(
            n_in,
            n_out,
            (*tuple(int(c.shape[0]) for c in cores), 1),
            in_modes=in_modes,
            out_modes=out_modes,
            use_bias=bias is not None,
            materialize=materialize,
            param_dtype=kernel.dtype,
            rngs=nnx.Rngs(0),
        )
        return out._load(cores, bias, error)
