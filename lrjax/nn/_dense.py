"""Factorized dense layers: low-rank, CP, Tucker and tensor-train (TT-matrix) kernels.

Every layer computes ``y = x @ W + b`` for a kernel ``W`` of shape ``(in_features,
out_features)`` held in factorized form. ``in_features = prod(in_modes)`` and ``out_features =
prod(out_modes)``; row ``i`` of ``W`` is the C-order flattening of ``(i_1, ..., i_d)`` and column
``j`` that of ``(j_1, ..., j_d)``, the convention of :func:`lrjax.linalg.khatri_rao` and of
TensorLy. ``materialize=True`` forms ``W`` first (faster for small layers); both paths give the
same output. ``from_dense`` compresses a trained :class:`flax.nnx.Linear` with lrjax's own
decompositions and records the relative kernel error it reports in ``compression_error``.
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
from ..linalg import khatri_rao, kronecker, truncated_svd
from ._common import DenseOptions, FactorizedLinear, kernel_of, tensor_of
from ._init import check_modes, check_positive, part_std

__all__ = ["CPLinear", "LowRankLinear", "TuckerLinear"]


class LowRankLinear(FactorizedLinear):
    """Dense layer with a rank-``r`` kernel ``W = U V``.

    ``U`` is ``(in_features, rank)`` and ``V`` is ``(rank, out_features)``; ``x @ W`` costs
    ``rank * (in + out)`` multiply-adds per row instead of ``in * out``.

    Args:
        in_features: input size.
        out_features: output size.
        rank: inner dimension ``r``.
        use_bias: add a bias vector.
        materialize: form ``W`` and do one matmul (faster for small layers).
        dtype: computation dtype (``None``: promote inputs and parameters).
        param_dtype: parameter dtype.
        rngs: random streams; ``rngs.params`` draws the factors.
        **options: as ``nnx.Linear``'s (:class:`lrjax.nn.DenseOptions`): ``kernel_init`` (one
            initializer, or one per factor in the order ``u, v``), ``kernel_metadata``,
            ``bias_init``, ``bias_metadata``, ``precision``, ``dot_general``.

    Examples:
        >>> from flax import nnx
        >>> layer = LowRankLinear(16, 8, 2, rngs=nnx.Rngs(0))
        >>> layer(jnp.ones((3, 16))).shape, layer.num_params
        ((3, 8), 56)

    References:
        Sainath et al., "Low-rank matrix factorization for deep neural network training with
        high-dimensional output targets", ICASSP 2013.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
        *,
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
        self.rank = check_positive("rank", rank)
        std = part_std(1.0 / in_features, rank, 2)
        self.u, self.v = self._factors(rngs, [(in_features, rank), (rank, out_features)], std, opts)
        self._normalize_init(opts)

    def _parts(self):
        return [self.u[...], self.v[...]]

    def _param_list(self):
        return [self.u, self.v]

    def _apply_prepared(self, x, prepared):
        return self._mm(self._mm(x, prepared[0]), prepared[1])

    def _matrix(self, parts):
        return self._mm(parts[0], parts[1])

    def _flops(self):
        return 2 * self.rank * (self.in_features + self.out_features)

    @classmethod
    def from_dense(cls, layer, rank: int, *, materialize: bool = False) -> LowRankLinear:
        """Best rank-``rank`` layer (truncated SVD, Eckart–Young) for a trained dense layer.

        ``compression_error`` is ``||W - U V||_F / ||W||_F`` from the discarded singular values.
        """
        kernel, bias = kernel_of(layer)
        u, s, vt = truncated_svd(kernel, rank)
        root = jnp.sqrt(s)
        total = jnp.sum(kernel * kernel)
        error = jnp.sqrt(jnp.maximum(total - jnp.sum(s * s), 0.0) / total)
        out = cls(
            kernel.shape[0],
            kernel.shape[1],
            rank,
            use_bias=bias is not None,
            materialize=materialize,
            param_dtype=kernel.dtype,
            rngs=nnx.Rngs(0),
        )
        return out._load([u * root, root[:, None] * vt], bias, error)


class CPLinear(FactorizedLinear):
    """Dense layer whose kernel, as a ``2d``-way tensor, is a rank-``R`` CP tensor.

    .. math:: W_{(i_1 \\dots i_d),(j_1 \\dots j_d)} = \\sum_{r=1}^R \\prod_k A_k[i_k, r]
        \\prod_k B_k[j_k, r],

    i.e. ``W = khatri_rao(A) @ khatri_rao(B).T``; the layer applies the two thin factors and
    never forms ``W``. Parameters: ``R * (sum(in_modes) + sum(out_modes))`` (+ bias).

    Args:
        in_features: input size, ``prod(in_modes)``.
        out_features: output size, ``prod(out_modes)``.
        rank: CP rank ``R``.
        in_modes: factorization of ``in_features`` (default: 3 balanced factors).
        out_modes: factorization of ``out_features`` (default: as many balanced factors as
            ``in_modes``).
        use_bias, materialize, dtype, param_dtype, rngs, **options: as for
            :class:`LowRankLinear` (factor order: the input factors, then the output ones).

    Examples:
        >>> from flax import nnx
        >>> layer = CPLinear(256, 512, 10, in_modes=(4, 4, 4, 4), out_modes=(8, 4, 4, 4),
        ...                  rngs=nnx.Rngs(0))
        >>> layer.num_params
        872

    References:
        Lebedev et al., "Speeding-up convolutional neural networks using fine-tuned
        CP-decomposition", ICLR 2015; Tjandra, Sakti & Nakamura, IJCNN 2018.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
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
        self.rank = check_positive("rank", rank)
        n_parts = len(self.in_modes) + len(self.out_modes)
        std = part_std(1.0 / in_features, rank, n_parts)
        params = self._factors(rngs, [(m, rank) for m in self.in_modes + self.out_modes], std, opts)
        d = len(self.in_modes)
        self.in_factors = nnx.List(params[:d])
        self.out_factors = nnx.List(params[d:])
        self._normalize_init(opts)

    def _parts(self):
        return [f[...] for f in self.in_factors] + [f[...] for f in self.out_factors]

    def _param_list(self):
        return [*self.in_factors, *self.out_factors]

    def _split(self, parts):
        d = len(self.in_modes)
        return khatri_rao(parts[:d]), khatri_rao(parts[d:])

    def _prepare(self, parts):
        a, b = self._split(parts)
        return a, b.T

    def _apply_prepared(self, x, prepared):
        return self._mm(self._mm(x, prepared[0]), prepared[1])

    def _matrix(self, parts):
        a, b = self._split(parts)
        return self._mm(a, b.T)

    def _flops(self):
        return 2 * self.rank * (self.in_features + self.out_features)

    @classmethod
    def from_dense(
        cls,
        layer,
        rank: int,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        key: jax.Array | None = None,
        maxiter: int = 500,
        tol: float = 1e-10,
        materialize: bool = False,
    ) -> CPLinear:
        """CP layer from a trained dense layer by :func:`lrjax.cp_als` on the reshaped kernel.

        The CP weights are spread evenly over the ``2d`` factors. ``compression_error`` is the
        relative error ``cp_als`` reports. ``key`` seeds the initialisation, as for ``cp_als``:
        needed (a ``ValueError`` names it otherwise) when the rank exceeds a mode size.
        """
        kernel, bias = kernel_of(layer)
        n_in, n_out = kernel.shape
        in_modes = check_modes("in_modes", in_modes, n_in, None)
        out_modes = check_modes("out_modes", out_modes, n_out, len(in_modes))
        cp, info = cp_als(
            tensor_of(kernel, in_modes, out_modes), rank, key=key, maxiter=maxiter, tol=tol
        )
        scale = jnp.abs(cp.weights) ** (1.0 / len(cp.factors))
        factors = [f * scale for f in cp.factors]
        factors[0] = factors[0] * jnp.sign(cp.weights)
        out = cls(
            n_in,
            n_out,
            rank,
            in_modes=in_modes,
            out_modes=out_modes,
            use_bias=bias is not None,
            materialize=materialize,
            param_dtype=kernel.dtype,
            rngs=nnx.Rngs(0),
        )
        return out._load(factors, bias, info.error)


def _tucker_ranks(ranks, d: int, d_out: int | None = None) -> tuple[tuple[int, ...], ...]:
    """Input and output ranks of a ``(d + d_out)``-way Tucker kernel (``d_out`` defaults to
    ``d``): an int, ``d`` ranks shared by input and output mode ``k`` (when ``d_out == d``),
    or ``d + d_out`` ranks (inputs, then outputs)."""
    d_out = d if d_out is None else d_out
    if (
        d_out == d
        and isinstance(ranks, Sequence)
        and not isinstance(ranks, str)
        and len(ranks) == d
    ):
        ranks = (*ranks, *ranks)
    out = _checks.ranks("ranks", ranks, d + d_out)
    return out[:d], out[d:]


class TuckerLinear(FactorizedLinear):
    """Dense layer whose kernel, as a ``(d + e)``-way tensor, is a Tucker tensor.

    .. math:: W = (U_1 \\otimes \\cdots \\otimes U_d)\\, G_{(r),(s)}\\,
        (V_1 \\otimes \\cdots \\otimes V_e)^\\top,

    with input factors ``U_k`` of shape ``(in_k, r_k)``, output factors ``V_k`` of shape
    ``(out_k, s_k)`` and core ``G`` of shape ``(r_1..r_d, s_1..s_e)``. With as many output
    modes as input modes, ``ranks=(2, 3, 3, 4)`` uses ``r_k = s_k`` (the convention of Tjandra
    et al.); pass ``d + e`` numbers for separate input and output ranks. The orders may
    differ: ``in_modes=(C, H, W), out_modes=(n,)`` is a Tucker tensor regression layer
    (Kossaifi et al., TensorLy-Torch's ``TRL``) on flattened ``(C, H, W)`` activations.

    The arguments not listed here are as for :class:`CPLinear`: ``in_features``,
    ``out_features``, ``in_modes``, ``out_modes``, ``use_bias``, ``materialize``, ``dtype``,
    ``param_dtype``, ``rngs`` and the layer options (factor order: the core, the input
    factors, the output factors).

    Args:
        ranks: an int (all modes), ``d`` ranks (when ``e == d``) or ``d + e`` ranks.
        rank: deprecated name of ``ranks`` (one release, with a ``DeprecationWarning``).

    Examples:
        >>> from flax import nnx
        >>> layer = TuckerLinear(256, 512, (2, 2, 2, 2), in_modes=(4, 4, 4, 4),
        ...                      out_modes=(8, 4, 4, 4), rngs=nnx.Rngs(0))
        >>> layer.num_params
        840

    References:
        Kim et al., "Compression of deep convolutional neural networks for fast and low power
        mobile applications", ICLR 2016; Tjandra, Sakti & Nakamura, IJCNN 2018.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        ranks: int | Sequence[int] | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        use_bias: bool = True,
        materialize: bool = False,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        rank: int | Sequence[int] | None = None,
        **options: Unpack[DenseOptions],
    ):
        rank = _checks.renamed("ranks", ranks, "rank", rank)
        opts = self._setup_common(
            in_features, out_features, use_bias, materialize, dtype, param_dtype, rngs, options
        )
        self.in_modes = check_modes("in_modes", in_modes, in_features, None)
        self.out_modes = check_modes("out_modes", out_modes, out_features, len(self.in_modes))
        self.in_ranks, self.out_ranks = _tucker_ranks(rank, len(self.in_modes), len(self.out_modes))
        core_shape = self.in_ranks + self.out_ranks
        std = part_std(1.0 / in_features, math.prod(core_shape), len(core_shape) + 1)
        d = len(self.in_modes)
        shapes = [
            core_shape,
            *zip(self.in_modes, self.in_ranks, strict=True),
            *zip(self.out_modes, self.out_ranks, strict=True),
        ]
        params = self._factors(rngs, shapes, std, opts)
        self.core = params[0]
        self.in_factors = nnx.List(params[1 : d + 1])
        self.out_factors = nnx.List(params[d + 1 :])
        self._normalize_init(opts)

    def _parts(self):
        return [
            self.core[...],
            *(f[...] for f in self.in_factors),
            *(f[...] for f in self.out_factors),
        ]

    def _param_list(self):
        return [self.core, *self.in_factors, *self.out_factors]

    def _split(self, parts):
        d = len(self.in_modes)
        core = parts[0].reshape(math.prod(self.in_ranks), math.prod(self.out_ranks))
        return kronecker(parts[1 : d + 1]), core, kronecker(parts[d + 1 :])

    def _prepare(self, parts):
        a, core, b = self._split(parts)
        return a, core, b.T

    def _apply_prepared(self, x, prepared):
        a, core, bt = prepared
        return self._mm(self._mm(self._mm(x, a), core), bt)

    def _matrix(self, parts):
        a, core, b = self._split(parts)
        return self._mm(self._mm(a, core), b.T)

    def _flops(self):
        r, s = math.prod(self.in_ranks), math.prod(self.out_ranks)
        return 2 * (self.in_features * r + r * s + s * self.out_features)

    @classmethod
    def from_dense(
        cls,
        layer,
        ranks: int | Sequence[int] | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        out_modes: Sequence[int] | None = None,
        maxiter: int = 100,
        tol: float = 1e-10,
        materialize: bool = False,
        rank: int | Sequence[int] | None = None,
    ) -> TuckerLinear:
        """Tucker layer from a trained dense layer by :func:`lrjax.tucker_hooi` (HOSVD start).

        ``compression_error`` is the relative error ``tucker_hooi`` reports. ``rank`` is the
        deprecated name of ``ranks``.
        """
        rank = _checks.renamed("ranks", ranks, "rank", rank)
        kernel, bias = kernel_of(layer)
        n_in, n_out = kernel.shape
        in_modes = check_modes("in_modes", in_modes, n_in, None)
        out_modes = check_modes("out_modes", out_modes, n_out, len(in_modes))
        in_ranks, out_ranks = _tucker_ranks(rank, len(in_modes), len(out_modes))
        tucker, info = tucker_hooi(
            tensor_of(kernel, in_modes, out_modes), in_ranks + out_ranks, maxiter=maxiter, tol=tol
        )
        out = cls(
            n_in,
            n_out,
            in_ranks + out_ranks,
            in_modes=in_modes,
            out_modes=out_modes,
            use_bias=bias is not None,
            materialize=materialize,
            param_dtype=kernel.dtype,
            rngs=nnx.Rngs(0),
        )
        return out._load([tucker.core, *tucker.factors], bias, info.error)
