"""GRU cells with dense, CP, Tucker and tensor-train input and recurrent maps.

All cells share one gate computation. The input map ``x -> (..., 3H)`` and the recurrent map
``h -> (..., 3H)`` produce the three gates at once in an interleaved layout: column ``3 h + g``
is gate ``g`` (reset, update, candidate) of hidden unit ``h``. For a tensorized map with output
modes ``(m_1, ..., m_d)`` (``prod = H``) this is exactly "the last output mode tripled",
``(m_1, ..., m_{d-1}, 3 m_d)``, as in Tjandra, Sakti & Nakamura (IJCNN 2018):

.. math::
    r = \\sigma(x W^r + h U^r + b^r),\\quad z = \\sigma(x W^z + h U^z + b^z),\\quad
    n = \\tanh(x W^n + b^n + r \\odot h U^n),\\quad h' = (1 - z) \\odot n + z \\odot h.

One bias vector of size ``3H``; this is the parameter count of the published table.
"""

from __future__ import annotations

import abc
import types
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, Unpack

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from flax.nnx.nn import dtypes

from .. import _checks
from ._common import EMPTY, Initializer, bias_param, matmul
from ._dense import CPLinear, TuckerLinear
from ._init import check_modes, check_positive, count_params
from ._scan import dense_gated_scan, gated_scan
from ._tt_linear import TTLinear

__all__ = ["CPGRUCell", "GRUCell", "TTGRUCell", "TuckerGRUCell"]


class CellOptions(TypedDict, total=False):
    """The ``nnx.GRUCell`` keyword arguments every GRU cell of lrjax takes.

    ``kernel_init`` / ``recurrent_kernel_init``: initializers of the input and recurrent maps
    (for a tensorized cell, the factor initializers of its two layers, one for every factor or
    one per factor; ``None``: lrjax's defaults); ``kernel_metadata`` /
    ``recurrent_kernel_metadata``: ``nnx.Param`` metadata of them (e.g. sharding);
    ``bias_init`` (default zeros) and ``bias_metadata`` of the ``3H`` bias; ``precision`` and
    ``dot_general`` of every product; ``carry_init``, the default initializer of
    :meth:`initialize_carry` (zeros).
    """

    kernel_init: Any
    recurrent_kernel_init: Any
    kernel_metadata: Any
    recurrent_kernel_metadata: Any
    bias_init: Initializer | None
    bias_metadata: Any
    precision: Any
    dot_general: Callable[..., jax.Array]
    carry_init: Initializer | None


CELL_DEFAULTS: dict[str, Any] = {
    "kernel_init": None,
    "recurrent_kernel_init": None,
    "kernel_metadata": EMPTY,
    "recurrent_kernel_metadata": EMPTY,
    "bias_init": None,
    "bias_metadata": EMPTY,
    "precision": None,
    "dot_general": jax.lax.dot_general,
    "carry_init": None,
}


class _GRUBase(nnx.RNNCellBase):
    """Gate arithmetic shared by every GRU cell; subclasses provide the two maps."""

    in_features: int
    hidden_features: int

    def _setup(
        self,
        in_features,
        hidden_features,
        gate_fn,
        activation_fn,
        dtype,
        param_dtype,
        rngs=None,
        options=EMPTY,
    ):
        unknown = sorted(set(options) - set(CELL_DEFAULTS))
        if unknown:
            raise TypeError(
                f"unexpected keyword argument(s) {unknown}; the cell options are "
                f"{sorted(CELL_DEFAULTS)}"
            )
        opts = {**CELL_DEFAULTS, **options}
        if opts["carry_init"] is not None and not callable(opts["carry_init"]):
            raise ValueError(f"carry_init must be callable, got {opts['carry_init']!r}")
        self.precision = opts["precision"]
        self.dot_general = opts["dot_general"]
        self.carry_init = opts["carry_init"]
        self.in_features = check_positive("in_features", in_features)
        self.hidden_features = check_positive("hidden_features", hidden_features)
        self.gate_fn = gate_fn
        self.activation_fn = activation_fn
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.bias = bias_param(rngs, 3 * hidden_features, param_dtype, opts)
        return opts

    def _default_products(self) -> bool:
        """True when products use the default ``dot_general`` and precision (the fused scan
        of a dense recurrent kernel multiplies with ``@``)."""
        return self.precision is None and self.dot_general is jax.lax.dot_general

    @abc.abstractmethod
    def input_map(self, x: jax.Array) -> jax.Array:
        """``x @ W`` of shape ``(..., 3H)`` (interleaved gates), without bias."""
        ...

    @abc.abstractmethod
    def recurrent_map(self, h: jax.Array) -> jax.Array:
        """``h @ U`` of shape ``(..., 3H)`` (interleaved gates)."""
        ...

    @abc.abstractmethod
    def recurrent_fn(self):
        """``h -> h @ U`` with the recurrent factor products prepared once (loop-invariant)."""
        ...

    def __call__(self, carry: jax.Array, inputs: jax.Array) -> tuple[jax.Array, jax.Array]:  # type: ignore[override]
        """One step: ``(h, x) -> (h', h')``."""
        new_h = self._gates(carry, self.input_map(inputs), self.recurrent_map(carry))
        return new_h, new_h

    def sequence(
        self, inputs: jax.Array, carry: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """Run the cell over a batch-major sequence ``(..., T, in)``.

        Same result as ``nnx.RNN(cell)``, faster: the input map runs once over all time steps
        as one matmul, the recurrent factor products are formed once outside the loop, and the
        reverse pass of a dense recurrent kernel keeps its gradient out of the loop.

        Args:
            inputs: ``(..., T, in_features)``.
            carry: initial hidden state ``(..., H)`` (default zeros).

        Returns:
            ``(final_carry, outputs)`` with outputs ``(..., T, H)``.
        """
        if carry is None:
            carry = self.initialize_carry(inputs.shape[:-2] + inputs.shape[-1:])
        gx, bias = dtypes.promote_dtype((self.input_map(inputs), self.bias[...]), dtype=self.dtype)
        gx = jnp.moveaxis(gx + bias, -2, 0)
        # the loop carries the promoted dtype (float32 parameters with float64 inputs: float64)
        carry = jnp.asarray(carry, jnp.result_type(carry, gx))
        kernel = self._dense_recurrent_kernel()
        if kernel is not None and gx.shape[0] > 0:
            final, ys = dense_gated_scan(self._gate_step, carry, gx, kernel)
        else:
            final, ys = gated_scan(self._gate_step, self.recurrent_fn(), carry, gx)
        return final, jnp.moveaxis(ys, 0, -2)

    def _dense_recurrent_kernel(self) -> jax.Array | None:
        """The ``(H, 3H)`` kernel when the recurrent map is one matmul by it (then ``sequence``
        uses the reverse pass of ``dense_gated_scan``), else None."""
        return None

    def _gate_step(self, h, gx, gh):
        """``_gates`` for an input-map output that already holds the bias."""
        gx, gh, h = dtypes.promote_dtype((gx, gh, h), dtype=self.dtype)
        gx = gx.reshape(*gx.shape[:-1], self.hidden_features, 3)
        gh = gh.reshape(*gh.shape[:-1], self.hidden_features, 3)
        r = self.gate_fn(gx[..., 0] + gh[..., 0])
        z = self.gate_fn(gx[..., 1] + gh[..., 1])
        n = self.activation_fn(gx[..., 2] + r * gh[..., 2])
        return (1.0 - z) * n + z * h

    def _gates(self, h, gx, gh):
        gx, bias = dtypes.promote_dtype((gx, self.bias[...]), dtype=self.dtype)
        return self._gate_step(h, gx + bias, gh)

    def initialize_carry(self, input_shape, rngs=None, carry_init=None):  # type: ignore[override]
        """Hidden state of shape ``input_shape[:-1] + (hidden_features,)``: ``carry_init``
        (default: the cell's ``carry_init``, else zeros) called with a key from ``rngs``."""
        shape = (*tuple(input_shape[:-1]), self.hidden_features)
        carry_init = carry_init if carry_init is not None else self.carry_init
        if carry_init is not None:
            # nnx.Rngs / RngStream are callable (they return a key); a key array is used as is
            key = rngs() if callable(rngs) else rngs
            return carry_init(
                key if key is not None else jax.random.key(0), shape, self.param_dtype
            )
        return jnp.zeros(shape, self.param_dtype)

    @property
    def num_feature_axes(self) -> int:
        """Cells act on the last axis."""
        return 1

    @property
    def num_params(self) -> int:
        """Number of trainable scalars (both maps and the one ``3H`` bias)."""
        return count_params(self)

    @abc.abstractmethod
    def kernels(self) -> tuple[jax.Array, jax.Array]:
        """Dense ``(in, 3H)`` input and ``(H, 3H)`` recurrent kernels (interleaved gates)."""
        ...

    def to_dense(self, *, rngs: nnx.Rngs | None = None) -> GRUCell:
        """The dense :class:`GRUCell` with this cell's reconstructed kernels and bias."""
        k_in, k_rec = self.kernels()
        cell = GRUCell(
            self.in_features,
            self.hidden_features,
            gate_fn=self.gate_fn,
            activation_fn=self.activation_fn,
            dtype=self.dtype,
            param_dtype=k_in.dtype,
            rngs=rngs if rngs is not None else nnx.Rngs(0),
        )
        cell.input_kernel[...] = k_in
        cell.recurrent_kernel[...] = k_rec
        cell.bias[...] = self.bias[...]
        return cell


class GRUCell(_GRUBase):
    """Dense GRU cell (the baseline of the tensorized cells).

    Parameters: ``3H (in + H) + 3H``, e.g. 1,181,184 for input 256 and hidden 512. Same
    equations and single bias as :class:`flax.nnx.GRUCell` (reset applied after the recurrent
    matmul); only the column order of the kernels differs (gates interleaved, see the module
    docstring). The input kernel is LeCun-normal, the recurrent one orthogonal scaled to the
    same per-entry variance ``1 / H``.

    Args:
        in_features: input size.
        hidden_features: hidden size ``H``.
        gate_fn: gate nonlinearity (sigmoid).
        activation_fn: candidate nonlinearity (tanh).
        dtype: computation dtype.
        param_dtype: parameter dtype.
        rngs: random streams.
        **options: as ``nnx.GRUCell``'s (:class:`CellOptions`): ``kernel_init`` (default
            LeCun normal), ``recurrent_kernel_init`` (default orthogonal times ``sqrt(3)``),
            ``bias_init``, the three ``*_metadata``, ``precision``, ``dot_general``,
            ``carry_init``.

    Examples:
        >>> from flax import nnx
        >>> cell = GRUCell(256, 512, rngs=nnx.Rngs(0))
        >>> cell.num_params
        1181184
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        gate_fn: Callable = jax.nn.sigmoid,
        activation_fn: Callable = jnp.tanh,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[CellOptions],
    ):
        opts = self._setup(
            in_features, hidden_features, gate_fn, activation_fn, dtype, param_dtype, rngs, options
        )
        h3 = 3 * hidden_features
        init = opts["kernel_init"] or nnx.initializers.lecun_normal()
        self.input_kernel = nnx.Param(
            init(rngs.params(), (in_features, h3), param_dtype), **opts["kernel_metadata"]
        )
        if opts["recurrent_kernel_init"] is None:
            orth = nnx.initializers.orthogonal()(rngs.params(), (hidden_features, h3), param_dtype)
            rec = orth * np.sqrt(3.0).astype(orth.dtype)
        else:
            rec = opts["recurrent_kernel_init"](rngs.params(), (hidden_features, h3), param_dtype)
        self.recurrent_kernel = nnx.Param(rec, **opts["recurrent_kernel_metadata"])

    def input_map(self, x):
        x, k = dtypes.promote_dtype((x, self.input_kernel[...]), dtype=self.dtype)
        return matmul(x, k, self.precision, self.dot_general)

    def recurrent_map(self, h):
        h, k = dtypes.promote_dtype((h, self.recurrent_kernel[...]), dtype=self.dtype)
        return matmul(h, k, self.precision, self.dot_general)

    def recurrent_fn(self):
        k = dtypes.promote_dtype((self.recurrent_kernel[...],), dtype=self.dtype)[0]
        return lambda h: matmul(h, k, self.precision, self.dot_general)

    def _dense_recurrent_kernel(self):
        if not self._default_products():
            return None
        return dtypes.promote_dtype((self.recurrent_kernel[...],), dtype=self.dtype)[0]

    def kernels(self):
        return self.input_kernel[...], self.recurrent_kernel[...]


def _tripled(modes: tuple[int, ...]) -> tuple[int, ...]:
    return (*modes[:-1], 3 * modes[-1])


class _TensorizedGRU(_GRUBase):
    """A GRU whose two maps are factorized linear layers of one class."""

    def _build(self, layer_cls, rank_kw, in_modes, hidden_modes, rngs, opts):
        self.in_modes = check_modes("in_modes", in_modes, self.in_features, None)
        self.hidden_modes = check_modes(
            "hidden_modes", hidden_modes, self.hidden_features, len(self.in_modes)
        )
        out_modes = _tripled(self.hidden_modes)
        common = dict(
            use_bias=False,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            rngs=rngs,
            precision=self.precision,
            dot_general=self.dot_general,
        )
        self.input_layer = layer_cls(
            self.in_features,
            3 * self.hidden_features,
            **rank_kw,
            in_modes=self.in_modes,
            out_modes=out_modes,
            kernel_init=opts["kernel_init"],
            kernel_metadata=opts["kernel_metadata"],
            **common,
        )
        self.recurrent_layer = layer_cls(
            self.hidden_features,
            3 * self.hidden_features,
            **rank_kw,
            in_modes=self.hidden_modes,
            out_modes=out_modes,
            kernel_init=opts["recurrent_kernel_init"],
            kernel_metadata=opts["recurrent_kernel_metadata"],
            **common,
        )

    def input_map(self, x):
        return self.input_layer(x)

    def recurrent_map(self, h):
        return self.recurrent_layer(h)

    def recurrent_fn(self):
        return self.recurrent_layer.matmul_fn()

    def _dense_recurrent_kernel(self):
        layer = self.recurrent_layer
        if not layer.materialize or not self._default_products():
            return None
        parts = dtypes.promote_dtype(tuple(layer._parts()), dtype=layer.dtype or self.dtype)
        return layer._matrix(list(parts))  # what matmul_fn multiplies by

    def kernels(self):
        return self.input_layer.kernel_matrix(), self.recurrent_layer.kernel_matrix()

    _layer_cls: Any

    @classmethod
    def from_dense(
        cls,
        cell: _GRUBase,
        rank,
        *,
        in_modes: Sequence[int] | None = None,
        hidden_modes: Sequence[int] | None = None,
        **decomposition_kwargs,
    ):
        """Compress a trained GRU cell (e.g. a :class:`GRUCell`): both kernels are decomposed
        with the layer class's ``from_dense`` (``cp_als``, ``tucker_hooi`` or ``tt_svd``) in the
        tensorized shape, the bias is kept. ``compression_error`` of ``input_layer`` and
        ``recurrent_layer`` hold the two relative kernel errors.

        Args:
            cell: any GRU cell of this module (its ``kernels()`` are used).
            rank: the rank argument of this cell class (``rank`` for CP, ``ranks`` for Tucker
                and TT), passed by position.
            in_modes, hidden_modes: as for the constructor.
            **decomposition_kwargs: passed to the layer class's ``from_dense`` (e.g.
                ``maxiter``; a ``key``, needed by ``cp_als`` when the rank exceeds a mode
                size, is split between the two kernels).
        """
        k_in, k_rec = cell.kernels()
        in_modes = check_modes(
            "in_modes", in_modes or _default(cell.in_features), cell.in_features, None
        )
        hidden_modes = check_modes(
            "hidden_modes", hidden_modes, cell.hidden_features, len(in_modes)
        )
        out_modes = _tripled(hidden_modes)
        keys: tuple = (None, None)
        if decomposition_kwargs.get("key") is not None:
            keys = tuple(jax.random.split(decomposition_kwargs.pop("key")))
        make = lambda k, modes, key: cls._layer_cls.from_dense(
            types.SimpleNamespace(kernel=k, bias=None), rank, in_modes=modes, out_modes=out_modes,
            **decomposition_kwargs, **({} if key is None else {"key": key}),
        )  # fmt: skip
        layers = make(k_in, in_modes, keys[0]), make(k_rec, hidden_modes, keys[1])
        ctor: Any = cls
        out = nnx.eval_shape(
            lambda: ctor(cell.in_features, cell.hidden_features, rank, in_modes=in_modes,
                        hidden_modes=hidden_modes, gate_fn=cell.gate_fn,
                        activation_fn=cell.activation_fn, dtype=cell.dtype,
                        param_dtype=k_in.dtype, rngs=nnx.Rngs(0))
        )  # fmt: skip
        out.input_layer, out.recurrent_layer = layers
        out.bias = nnx.Param(jnp.asarray(cell.bias[...], k_in.dtype))
        return out


_CELL_DOC_ARGS = """
    Args:
        in_features: input size, ``prod(in_modes)``.
        hidden_features: hidden size ``H = prod(hidden_modes)``.
        {rank_doc}
        in_modes: factorization of the input (default: 4 balanced factors).
        hidden_modes: factorization of ``H``; the maps output ``hidden_modes`` with the last
            mode tripled (default: as many balanced factors as ``in_modes``).
        gate_fn, activation_fn, dtype, param_dtype, rngs: as for :class:`GRUCell`.
        **options: :class:`CellOptions` (``kernel_init`` and ``recurrent_kernel_init`` are
            the factor initializers of the two layers).
"""


class CPGRUCell(_TensorizedGRU):
    """GRU cell whose input and recurrent maps are CP layers (:class:`CPLinear`).

    Parameters: ``R (sum(in_modes) + sum(hidden_modes) + 2 sum(tripled modes)) + 3H``; for input
    (4,4,4,4), hidden (8,4,4,4): 2,456 at rank 10, 11,656 at rank 110.

    Examples:
        >>> from flax import nnx
        >>> CPGRUCell(256, 512, 10, in_modes=(4, 4, 4, 4), hidden_modes=(8, 4, 4, 4),
        ...           rngs=nnx.Rngs(0)).num_params
        2456

    References:
        Tjandra, Sakti & Nakamura, "Tensor decomposition for compressing recurrent neural
        network", IJCNN 2018.
    """

    __doc__ = (__doc__ or "") + _CELL_DOC_ARGS.format(rank_doc="rank: CP rank of both maps.")
    _layer_cls = CPLinear

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        rank: int,
        *,
        in_modes: Sequence[int] | None = None,
        hidden_modes: Sequence[int] | None = None,
        gate_fn: Callable = jax.nn.sigmoid,
        activation_fn: Callable = jnp.tanh,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[CellOptions],
    ):
        opts = self._setup(
            in_features, hidden_features, gate_fn, activation_fn, dtype, param_dtype, rngs, options
        )
        self._build(
            CPLinear, {"rank": rank}, in_modes or _default(in_features), hidden_modes, rngs, opts
        )


class TuckerGRUCell(_TensorizedGRU):
    """GRU cell whose input and recurrent maps are Tucker layers (:class:`TuckerLinear`).

    ``ranks=(2, 3, 3, 4)`` gives both maps a core of shape ``(2,3,3,4, 2,3,3,4)``: 12,184
    parameters for input (4,4,4,4), hidden (8,4,4,4).

    Examples:
        >>> from flax import nnx
        >>> TuckerGRUCell(256, 512, (2, 2, 2, 2), in_modes=(4, 4, 4, 4),
        ...               hidden_modes=(8, 4, 4, 4), rngs=nnx.Rngs(0)).num_params
        2232

    References:
        Tjandra, Sakti & Nakamura, IJCNN 2018.
    """

    __doc__ = (__doc__ or "") + _CELL_DOC_ARGS.format(
        rank_doc="ranks: Tucker ranks (int, d or 2d numbers) of both maps (``rank``: its\n"
        "            deprecated name, one release)."
    )
    _layer_cls = TuckerLinear

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        ranks: int | Sequence[int] | None = None,
        *,
        in_modes: Sequence[int] | None = None,
        hidden_modes: Sequence[int] | None = None,
        gate_fn: Callable = jax.nn.sigmoid,
        activation_fn: Callable = jnp.tanh,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        rank: int | Sequence[int] | None = None,
        **options: Unpack[CellOptions],
    ):
        ranks = _checks.renamed("ranks", ranks, "rank", rank)
        opts = self._setup(
            in_features, hidden_features, gate_fn, activation_fn, dtype, param_dtype, rngs, options
        )
        self._build(
            TuckerLinear,
            {"ranks": ranks},
            in_modes or _default(in_features),
            hidden_modes,
            rngs,
            opts,
        )


class TTGRUCell(_TensorizedGRU):
    """GRU cell whose input and recurrent maps are TT-matrix layers (:class:`TTLinear`).

    ``ranks=(1, 9, 9, 9, 1)`` gives 8,448 parameters for input (4,4,4,4), hidden (8,4,4,4).

    Examples:
        >>> from flax import nnx
        >>> TTGRUCell(256, 512, (1, 3, 3, 3, 1), in_modes=(4, 4, 4, 4),
        ...           hidden_modes=(8, 4, 4, 4), rngs=nnx.Rngs(0)).num_params
        2688

    References:
        Tjandra, Sakti & Nakamura, IJCNN 2018; Novikov et al., NIPS 2015.
    """

    __doc__ = (__doc__ or "") + _CELL_DOC_ARGS.format(
        rank_doc="ranks: TT ranks (int, d - 1 inner or d + 1 ranks) of both maps."
    )
    _layer_cls = TTLinear

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        ranks: int | Sequence[int],
        *,
        in_modes: Sequence[int] | None = None,
        hidden_modes: Sequence[int] | None = None,
        gate_fn: Callable = jax.nn.sigmoid,
        activation_fn: Callable = jnp.tanh,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        **options: Unpack[CellOptions],
    ):
        opts = self._setup(
            in_features, hidden_features, gate_fn, activation_fn, dtype, param_dtype, rngs, options
        )
        self._build(
            TTLinear, {"ranks": ranks}, in_modes or _default(in_features), hidden_modes, rngs, opts
        )


def _default(n: int) -> tuple[int, ...]:
    from ._init import balanced_modes

    return balanced_modes(n, 4)
