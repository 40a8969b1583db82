"""Low-rank 2-D convolutions (NHWC inputs, Flax ``HWIO`` kernels).

Each layer is a short chain of convolutions whose composition is one ``kh x kw`` convolution
with a structured kernel; ``kernel()`` forms that kernel and ``to_conv()`` the equivalent
:class:`flax.nnx.Conv`, whose output equals the layer's (intermediate stages carry no bias and
zero padding commutes with them). ``from_conv`` compresses a trained ``nnx.Conv`` with lrjax's
decompositions and records the relative kernel error in ``compression_error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import jax
import jax.numpy as jnp
from flax import nnx

from .. import _checks
from ..decomposition import cp_als, tucker_hooi
from ..linalg import truncated_svd
from ._common import ConvOptions, FactorizedConv, conv_of, pair, stage_padding
from ._init import check_positive

__all__ = ["CPConv", "SeparableLowRankConv", "TuckerConv"]


def _rel_error(kernel, approx) -> float:
    return float(jnp.linalg.norm(kernel - approx) / jnp.linalg.norm(kernel))


class SeparableLowRankConv(FactorizedConv):
    """A ``kh x 1`` convolution to ``rank`` channels, then a ``1 x kw`` one to the outputs.

    .. math:: W[y, x, c, n] = \\sum_{k=1}^{K} V[y, c, k]\\, H[x, k, n].

    Parameters ``K (kh C + kw N)`` instead of ``kh kw C N``.

    Args:
        in_features: input channels ``C``.
        out_features: output channels ``N``.
        kernel_size: ``(kh, kw)`` or an int.
        rank: intermediate channels ``K``.
        strides: int or pair; the vertical stage takes the row stride, the horizontal the
            column stride.
        padding: ``"SAME"``, ``"VALID"``, an int or ``((top, bottom), (left, right))``.
        use_bias, dtype, param_dtype, rngs: as for :class:`flax.nnx.Conv`.
        **options: as ``nnx.Conv``'s (:class:`lrjax.nn.ConvOptions`): ``kernel_init`` (one
            initializer, or one per stage in order), ``kernel_metadata``, ``bias_init``,
            ``bias_metadata``, ``precision``, ``conv_general_dilated``.

    Examples:
        >>> from flax import nnx
        >>> layer = SeparableLowRankConv(16, 32, 3, 4, rngs=nnx.Rngs(0))
        >>> layer(jnp.ones((2, 8, 8, 16))).shape, layer.num_params
        ((2, 8, 8, 32), 608)

    References:
        Tai, Xiao, Zhang, Wang & E, "Convolutional neural networks with low-rank
        regularization", ICLR 2016 (the closed-form optimal ``from_conv``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        rank: int,
        *,
        strides: int | Sequence[int] = 1,
        padding="SAME",
        use_bias: bool = True,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[ConvOptions],
    ):
        opts = self._setup(
            in_features,
            out_features,
            kernel_size,
            strides,
            padding,
            use_bias,
            dtype,
            param_dtype,
            rngs,
            options,
        )
        self.rank = check_positive("rank", rank)
        kh, kw = self.kernel_size
        self.vertical, self.horizontal = self._init_parts(
            rngs, [(kh, 1, in_features, rank), (1, kw, rank, out_features)], rank, opts
        )

    def _param_list(self):
        return [self.vertical, self.horizontal]

    def _forward(self, x, parts):
        v, h = parts
        x = self._conv(x, v, (self.strides[0], 1), stage_padding(self.padding, "h"))
        return self._conv(x, h, (1, self.strides[1]), stage_padding(self.padding, "w"))

    def _kernel(self, parts):
        v, h = parts
        return jnp.einsum("yck,xkn->yxcn", v[:, 0], h[0])

    def flops_per_position(self) -> int:
        kh, kw = self.kernel_size
        return 2 * self.rank * (kh * self.in_features + kw * self.out_features)

    @classmethod
    def from_conv(cls, conv, rank: int) -> SeparableLowRankConv:
        """The optimal rank-``K`` separable layer (Tai et al., Theorem 1): the truncated SVD of
        the kernel reshaped to ``(C kh, N kw)``. ``compression_error`` is the relative kernel
        error of that SVD (the discarded singular values)."""
        kernel, bias, geo = conv_of(conv)
        kh, kw, c, n = kernel.shape
        m = kernel.transpose(2, 0, 3, 1).reshape(c * kh, n * kw)
        u, s, vt = truncated_svd(m, rank)
        root = jnp.sqrt(s)
        v = (u * root).reshape(c, kh, rank).transpose(1, 0, 2)[:, None]  # (kh, 1, C, K)
        h = (root[:, None] * vt).reshape(rank, n, kw).transpose(2, 0, 1)[None]  # (1, kw, K, N)
        total = jnp.sum(m * m)
        error = jnp.sqrt(jnp.maximum(total - jnp.sum(s * s), 0.0) / total)
        out = cls(c, n, (kh, kw), rank, **geo, use_bias=bias is not None, param_dtype=kernel.dtype,
                  rngs=nnx.Rngs(0))  # fmt: skip
        return out._load([v, h], bias, error)


class CPConv(FactorizedConv):
    """CP-decomposed convolution: ``1x1`` to ``R`` channels, ``kh x 1`` depthwise, ``1 x kw``
    depthwise, ``1x1`` to the outputs.

    .. math:: W[y, x, c, n] = \\sum_{r=1}^{R} K^y[y, r]\\, K^x[x, r]\\, K^c[c, r]\\, K^n[r, n].

    Parameters ``R (C + kh + kw + N)``.

    The arguments not listed here are as for :class:`SeparableLowRankConv`: ``in_features``,
    ``out_features``, ``kernel_size``, ``strides``, ``padding``, ``use_bias``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (:class:`lrjax.nn.ConvOptions`, factors in
    the order of their stages).

    Args:
        rank: CP rank ``R``.

    Examples:
        >>> from flax import nnx
        >>> CPConv(16, 32, 3, 8, rngs=nnx.Rngs(0)).num_params
        464

    References:
        Lebedev, Ganin, Rakhuba, Oseledets & Lempitsky, "Speeding-up convolutional neural
        networks using fine-tuned CP-decomposition", ICLR 2015.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        rank: int,
        *,
        strides: int | Sequence[int] = 1,
        padding="SAME",
        use_bias: bool = True,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[ConvOptions],
    ):
        opts = self._setup(
            in_features,
            out_features,
            kernel_size,
            strides,
            padding,
            use_bias,
            dtype,
            param_dtype,
            rngs,
            options,
        )
        self.rank = check_positive("rank", rank)
        kh, kw = self.kernel_size
        shapes = [
            (1, 1, in_features, rank),
            (kh, 1, 1, rank),
            (1, kw, 1, rank),
            (1, 1, rank, out_features),
        ]
        self.first, self.vertical, self.horizontal, self.last = self._init_parts(
            rngs, shapes, rank, opts
        )

    def _param_list(self):
        return [self.first, self.vertical, self.horizontal, self.last]

    def _forward(self, x, parts):
        first, vert, horiz, last = parts
        r = self.rank
        x = self._conv(x, first)
        x = self._conv(x, vert, (self.strides[0], 1), stage_padding(self.padding, "h"), groups=r)
        x = self._conv(x, horiz, (1, self.strides[1]), stage_padding(self.padding, "w"), groups=r)
        return self._conv(x, last)

    def _kernel(self, parts):
        first, vert, horiz, last = parts
        return jnp.einsum(
            "yr,xr,cr,rn->yxcn", vert[:, 0, 0], horiz[0, :, 0], first[0, 0], last[0, 0]
        )

    def flops_per_position(self) -> int:
        kh, kw = self.kernel_size
        return 2 * self.rank * (self.in_features + kh + kw + self.out_features)

    @classmethod
    def from_conv(
        cls,
        conv,
        rank: int,
        *,
        key: jax.Array | None = None,
        maxiter: int = 500,
        tol: float = 1e-10,
    ) -> CPConv:
        """CP layer by :func:`lrjax.cp_als` on the ``(kh, kw, C, N)`` kernel (weights folded into
        the last stage). ``compression_error`` is the relative error ``cp_als`` reports. ``key``
        seeds the initialisation, as for ``cp_als``: needed when the rank exceeds a mode size."""
        kernel, bias, geo = conv_of(conv)
        kh, kw, c, n = kernel.shape
        cp, info = cp_als(kernel, rank, key=key, maxiter=maxiter, tol=tol)
        fy, fx, fc, fn = cp.factors
        values = [
            fc[None, None],
            fy[:, None, None],
            fx[None, :, None],
            (fn * cp.weights).T[None, None],
        ]
        out = cls(c, n, (kh, kw), rank, **geo, use_bias=bias is not None, param_dtype=kernel.dtype,
                  rngs=nnx.Rngs(0))  # fmt: skip
        return out._load(values, bias, info.error)


class TuckerConv(FactorizedConv):
    """Tucker-2 convolution: ``1x1`` to ``R_in`` channels, a ``kh x kw`` convolution to
    ``R_out`` channels, ``1x1`` to the outputs.

    .. math:: W[y, x, c, n] = \\sum_{s,t} G[y, x, s, t]\\, U[c, s]\\, V[t, n].

    The arguments not listed here are as for :class:`SeparableLowRankConv`: ``in_features``,
    ``out_features``, ``kernel_size``, ``strides``, ``padding``, ``use_bias``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (:class:`lrjax.nn.ConvOptions`, factors in
    the order of their stages).

    Args:
        ranks: ``(R_in, R_out)`` or one int for both.
        rank: deprecated name of ``ranks`` (one release, with a ``DeprecationWarning``).

    Examples:
        >>> from flax import nnx
        >>> TuckerConv(16, 32, 3, (4, 8), rngs=nnx.Rngs(0)).num_params
        640

    References:
        Kim, Park, Yoo, Choi, Yang & Shin, "Compression of deep convolutional neural networks
        for fast and low power mobile applications", ICLR 2016.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        ranks: int | Sequence[int] | None = None,
        *,
        strides: int | Sequence[int] = 1,
        padding="SAME",
        use_bias: bool = True,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        rank: int | Sequence[int] | None = None,
        **options: Unpack[ConvOptions],
    ):
        rank = _checks.renamed("ranks", ranks, "rank", rank)
        opts = self._setup(
            in_features,
            out_features,
            kernel_size,
            strides,
            padding,
            use_bias,
            dtype,
            param_dtype,
            rngs,
            options,
        )
        self.rank = pair("ranks", rank)
        (kh, kw), (r1, r2) = self.kernel_size, self.rank
        shapes = [(1, 1, in_features, r1), (kh, kw, r1, r2), (1, 1, r2, out_features)]
        self.first, self.core, self.last = self._init_parts(rngs, shapes, r1 * r2, opts)

    def _param_list(self):
        return [self.first, self.core, self.last]

    def _forward(self, x, parts):
        first, core, last = parts
        x = self._conv(x, first)
        x = self._conv(x, core, self.strides, stage_padding(self.padding, "hw"))
        return self._conv(x, last)

    def _kernel(self, parts):
        first, core, last = parts
        return jnp.einsum("cs,yxst,tn->yxcn", first[0, 0], core, last[0, 0])

    def flops_per_position(self) -> int:
        (kh, kw), (r1, r2) = self.kernel_size, self.rank
        return 2 * (self.in_features * r1 + kh * kw * r1 * r2 + r2 * self.out_features)

    @classmethod
    def from_conv(
        cls,
        conv,
        ranks: int | Sequence[int] | None = None,
        *,
        maxiter: int = 100,
        tol: float = 1e-10,
        rank: int | Sequence[int] | None = None,
    ) -> TuckerConv:
        """Tucker-2 layer by :func:`lrjax.tucker_hooi` on the channel modes of the kernel
        (spatial modes kept whole). ``compression_error`` is the error HOOI reports. ``rank``
        is the deprecated name of ``ranks``."""
        rank = _checks.renamed("ranks", ranks, "rank", rank)
        kernel, bias, geo = conv_of(conv)
        kh, kw, c, n = kernel.shape
        r1, r2 = pair("ranks", rank)
        tucker, info = tucker_hooi(kernel, (kh, kw, r1, r2), maxiter=maxiter, tol=tol)
        fy, fx, fc, fn = tucker.factors
        core = jnp.einsum("yxst,Yy,Xx->YXst", tucker.core, fy, fx)  # absorb the spatial bases
        out = cls(c, n, (kh, kw), (r1, r2), **geo, use_bias=bias is not None,
                  param_dtype=kernel.dtype, rngs=nnx.Rngs(0))  # fmt: skip
        return out._load([fc[None, None], core, fn.T[None, None]], bias, info.error)
