"""Low-rank convolutions (channels-last inputs, Flax kernels: ``HWIO`` in 2-D). CP and Tucker
layers are 1-, 2- or 3-D (``len(kernel_size)``); the separable one is 2-D.

Each layer is a short chain of convolutions whose composition is one convolution with a
structured kernel; ``kernel()`` forms that kernel and ``to_conv()`` the equivalent
:class:`flax.nnx.Conv`, whose output equals the layer's (intermediate stages carry no bias and
zero padding commutes with them). ``from_conv`` compresses a trained ``nnx.Conv`` with lrjax's
decompositions and records the relative kernel error in ``compression_error``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Unpack

import jax
import jax.numpy as jnp
from flax import nnx

from .. import _checks
from ..decomposition import cp_als, tucker_hooi
from ..linalg import truncated_svd
from ._common import ConvOptions, FactorizedConv, pair
from ._geometry import SPATIAL_AXES, conv_of, stage_padding
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
            dims=(2,),
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
        x = self._conv(x, v, self._stride_along((0,)), stage_padding(self.padding, (0,), 2))
        return self._conv(x, h, self._stride_along((1,)), stage_padding(self.padding, (1,), 2))

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
        kernel, bias, geo = conv_of(conv, (2,), cls.__name__)
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


def _stage_names(ndim: int) -> tuple[str, ...]:
    """The names of a CP layer's per-axis stages, after the axes ``D``, ``H``, ``W``."""
    names = {"D": "depth", "H": "vertical", "W": "horizontal"}
    return tuple(names[a] for a in SPATIAL_AXES[len(SPATIAL_AXES) - ndim :])


def _letters(ndim: int) -> str:
    """Einsum letters of ``ndim`` spatial axes."""
    return "uvw"[3 - ndim :]


class CPConv(FactorizedConv):
    """CP-decomposed convolution: ``1x1`` to ``R`` channels, one depthwise stage along each
    spatial axis, ``1x1`` to the outputs.

    .. math:: W[y, x, c, n] = \\sum_{r=1}^{R} K^y[y, r]\\, K^x[x, r]\\, K^c[c, r]\\, K^n[r, n]

    in 2-D (a ``kh x 1`` then a ``1 x kw`` depthwise stage: ``vertical``, ``horizontal``); a
    1-D layer (``kernel_size=(k,)``) has one depthwise stage (``horizontal``), a 3-D one three
    (``depth``, ``vertical``, ``horizontal``), as TensorLy-Torch's ``FactorizedConv`` of any
    order. Parameters ``R (C + sum(kernel_size) + N)``.

    The arguments not listed here are as for :class:`SeparableLowRankConv`: ``in_features``,
    ``out_features``, ``strides``, ``padding``, ``use_bias``, ``dtype``, ``param_dtype``,
    ``rngs`` and the layer options (:class:`lrjax.nn.ConvOptions`, factors in the order of
    their stages).

    Args:
        kernel_size: one size per spatial axis (1, 2 or 3 of them), or an int for a square
            2-D kernel. ``padding="CAUSAL"`` is taken in 1-D, as by ``nnx.Conv``.
        rank: CP rank ``R``.

    Examples:
        >>> from flax import nnx
        >>> CPConv(16, 32, 3, 8, rngs=nnx.Rngs(0)).num_params
        464
        >>> CPConv(16, 32, (3, 3, 3), 8, rngs=nnx.Rngs(0))(jnp.ones((2, 4, 8, 8, 16))).shape
        (2, 4, 8, 8, 32)

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
        d, one = self.ndim, (1,) * self.ndim
        shapes = [(*one, in_features, rank)]
        for a, k in enumerate(self.kernel_size):
            shapes.append((*(k if b == a else 1 for b in range(d)), 1, rank))
        shapes.append((*one, rank, out_features))
        params = self._init_parts(rngs, shapes, rank, opts)
        self.first, self.last = params[0], params[-1]
        for name, param in zip(_stage_names(d), params[1:-1], strict=True):
            setattr(self, name, param)

    def _param_list(self):
        return [self.first, *(getattr(self, n) for n in _stage_names(self.ndim)), self.last]

    def _forward(self, x, parts):
        first, *stages, last = parts
        x = self._conv(x, first)
        for a, stage in enumerate(stages):
            pad = stage_padding(self.padding, (a,), self.ndim)
            x = self._conv(x, stage, self._stride_along((a,)), pad, groups=self.rank)
        return self._conv(x, last)

    def _kernel(self, parts):
        first, *stages, last = parts
        r, sp = self.rank, _letters(self.ndim)
        vectors = [s.reshape(k, r) for s, k in zip(stages, self.kernel_size, strict=True)]
        spec = ",".join(f"{a}r" for a in sp) + f",cr,rn->{sp}cn"
        return jnp.einsum(
            spec, *vectors, first.reshape(self.in_features, r), last.reshape(r, self.out_features)
        )

    def flops_per_position(self) -> int:
        return 2 * self.rank * (self.in_features + sum(self.kernel_size) + self.out_features)

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
        """CP layer by :func:`lrjax.cp_als` on the ``(*kernel_size, C, N)`` kernel of a 1-, 2-
        or 3-D ``nnx.Conv`` (weights folded into the last stage). ``compression_error`` is the
        relative error ``cp_als`` reports. ``key`` seeds the initialisation, as for
        ``cp_als``: needed when the rank exceeds a mode size."""
        kernel, bias, geo = conv_of(conv)
        *size, c, n = kernel.shape
        d = len(size)
        cp, info = cp_als(kernel, rank, key=key, maxiter=maxiter, tol=tol)
        *spatial, fc, fn = cp.factors
        values = [fc.reshape(*(1,) * d, c, rank)]
        for a, f in enumerate(spatial):
            values.append(f.reshape(*(size[a] if b == a else 1 for b in range(d)), 1, rank))
        values.append((fn * cp.weights).T.reshape(*(1,) * d, rank, n))
        out = cls(c, n, tuple(size), rank, **geo, use_bias=bias is not None,
                  param_dtype=kernel.dtype, rngs=nnx.Rngs(0))  # fmt: skip
        return out._load(values, bias, info.error)


class TuckerConv(FactorizedConv):
    """Tucker-2 convolution: ``1x1`` to ``R_in`` channels, a full ``kh x kw`` convolution to
    ``R_out`` channels, ``1x1`` to the outputs.

    .. math:: W[y, x, c, n] = \\sum_{s,t} G[y, x, s, t]\\, U[c, s]\\, V[t, n]

    in 2-D; 1-D and 3-D layers (``kernel_size`` of 1 or 3 sizes) have a core of that many
    spatial axes, as TensorLy-Torch's Tucker ``FactorizedConv`` of any order.

    The arguments not listed here are as for :class:`SeparableLowRankConv`: ``in_features``,
    ``out_features``, ``kernel_size``, ``strides``, ``padding``, ``use_bias``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (:class:`lrjax.nn.ConvOptions`, factors in
    the order of their stages).

    Args:
        kernel_size: one size per spatial axis (1, 2 or 3 of them), or an int for a square
            2-D kernel. ``padding="CAUSAL"`` is taken in 1-D, as by ``nnx.Conv``.
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
        (r1, r2), one = self.rank, (1,) * self.ndim
        shapes = [(*one, in_features, r1), (*self.kernel_size, r1, r2), (*one, r2, out_features)]
        self.first, self.core, self.last = self._init_parts(rngs, shapes, r1 * r2, opts)

    def _param_list(self):
        return [self.first, self.core, self.last]

    def _forward(self, x, parts):
        first, core, last = parts
        x = self._conv(x, first)
        x = self._conv(
            x, core, self.strides, stage_padding(self.padding, range(self.ndim), self.ndim)
        )
        return self._conv(x, last)

    def _kernel(self, parts):
        first, core, last = parts
        (r1, r2), sp = self.rank, _letters(self.ndim)
        return jnp.einsum(
            f"cs,{sp}st,tn->{sp}cn",
            first.reshape(self.in_features, r1),
            core,
            last.reshape(r2, self.out_features),
        )

    def flops_per_position(self) -> int:
        (r1, r2), taps = self.rank, math.prod(self.kernel_size)
        return 2 * (self.in_features * r1 + taps * r1 * r2 + r2 * self.out_features)

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
        """Tucker-2 layer by :func:`lrjax.tucker_hooi` on the channel modes of the kernel of a
        1-, 2- or 3-D ``nnx.Conv`` (spatial modes kept whole). ``compression_error`` is the
        error HOOI reports. ``rank`` is the deprecated name of ``ranks``."""
        rank = _checks.renamed("ranks", ranks, "rank", rank)
        kernel, bias, geo = conv_of(conv)
        *size, c, n = kernel.shape
        r1, r2 = pair("ranks", rank)
        tucker, info = tucker_hooi(kernel, (*size, r1, r2), maxiter=maxiter, tol=tol)
        *spatial, fc, fn = tucker.factors
        sp = _letters(len(size))
        spec = f"{sp}st," + ",".join(f"{a.upper()}{a}" for a in sp) + f"->{sp.upper()}st"
        core = jnp.einsum(spec, tucker.core, *spatial)  # absorb the spatial bases
        one = (1,) * len(size)
        out = cls(c, n, tuple(size), (r1, r2), **geo, use_bias=bias is not None,
                  param_dtype=kernel.dtype, rngs=nnx.Rngs(0))  # fmt: skip
        values = [fc.reshape(*one, c, r1), core, fn.T.reshape(*one, r2, n)]
        return out._load(values, bias, info.error)
