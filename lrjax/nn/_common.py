"""Machinery shared by the factorized layers: the bases of the factorized dense and
convolution layers and the helpers that read a trained ``nnx.Linear`` / ``nnx.Conv``.

The module is private; its names are public so that sibling modules import them as declared
internal entries (see ``tests/test_imports.py``).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypedDict

import jax
import jax.numpy as jnp
from flax import nnx
from flax.nnx.nn import dtypes

from ._geometry import (
    CONV_DIMS,
    SPATIAL_AXES,
    depthwise_conv,
    dimension_numbers,
    kernel_dims,
    layer_padding,
    per_axis,
)
from ._init import check_positive, count_params, part_std, scaled_normal

Initializer = Callable[..., Any]
EMPTY: Mapping[str, Any] = MappingProxyType({})


class DenseOptions(TypedDict, total=False):
    """The ``nnx.Linear`` keyword arguments every factorized dense layer takes.

    ``kernel_init``: ``None`` (lrjax's variance-matched init: each factor Gaussian, rescaled so
    the equivalent kernel has the norm of a LeCun-normal one), one initializer
    ``init(key, shape, dtype)`` for every factor, or one per factor in the order of the
    layer's factors (wrap with ``nnx.with_partitioning`` to shard them). ``kernel_metadata``:
    one mapping of ``nnx.Param`` metadata for every factor, or one per factor.
    ``bias_init`` (default zeros), ``bias_metadata``; ``precision`` and ``dot_general`` of
    every product in the forward pass, as in ``nnx.Linear``.
    """

    kernel_init: Initializer | Sequence[Initializer] | None
    kernel_metadata: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    bias_init: Initializer | None
    bias_metadata: Mapping[str, Any]
    precision: Any
    dot_general: Callable[..., jax.Array]


class ConvOptions(TypedDict, total=False):
    """The ``nnx.Conv`` keyword arguments every factorized convolution takes: as
    :class:`DenseOptions`, with ``conv_general_dilated`` in place of ``dot_general``."""

    kernel_init: Initializer | Sequence[Initializer] | None
    kernel_metadata: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    bias_init: Initializer | None
    bias_metadata: Mapping[str, Any]
    precision: Any
    conv_general_dilated: Callable[..., jax.Array]


DENSE_DEFAULTS: dict[str, Any] = {
    "kernel_init": None,
    "kernel_metadata": EMPTY,
    "bias_init": None,
    "bias_metadata": EMPTY,
    "precision": None,
    "dot_general": jax.lax.dot_general,
}
CONV_DEFAULTS: dict[str, Any] = {
    **{k: v for k, v in DENSE_DEFAULTS.items() if k != "dot_general"},
    "conv_general_dilated": jax.lax.conv_general_dilated,
}


def layer_options(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` completed with ``defaults``; an unknown name is a ``TypeError`` as for any
    unexpected keyword argument."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(
            f"unexpected keyword argument(s) {unknown}; the layer options are {sorted(defaults)}"
        )
    for name in ("dot_general", "conv_general_dilated", "bias_init"):
        value = options.get(name)
        if value is not None and not callable(value):
            raise ValueError(f"{name} must be callable, got {value!r}")
    if options.get("bias_metadata") is not None and not isinstance(
        options["bias_metadata"], Mapping
    ):
        raise ValueError(f"bias_metadata must be a mapping, got {options['bias_metadata']!r}")
    return {**defaults, **options}


def _per_factor(name: str, value, n: int, single) -> list:
    if value is None or single(value):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(
            f"{name} must be one value for every factor or {n} values, got {len(values)}"
        )
    return values


def factor_params(
    rngs: nnx.Rngs,
    shapes: Sequence[Sequence[int]],
    param_dtype,
    default: Callable[[jax.Array, tuple[int, ...]], jax.Array],
    kernel_init=None,
    kernel_metadata=EMPTY,
    finish: Callable[[list[jax.Array]], list[jax.Array]] | None = None,
) -> list[nnx.Param]:
    """One ``nnx.Param`` per factor shape, drawn in order (one ``rngs.params()`` key each).

    Without ``kernel_init``: ``default(key, shape)``, then ``finish(values)`` (lrjax's exact
    rescaling), cast to ``param_dtype``. With it (one initializer or one per factor):
    ``kernel_init(key, shape, param_dtype)`` as drawn. ``kernel_metadata`` (one mapping or one
    per factor) becomes the ``nnx.Param`` metadata.
    """
    n = len(shapes)
    inits = _per_factor("kernel_init", kernel_init, n, callable)
    metas = _per_factor("kernel_metadata", kernel_metadata, n, lambda v: isinstance(v, Mapping))
    for init in inits:
        if kernel_init is not None and not callable(init):
            raise ValueError(f"kernel_init must be callable (or one per factor), got {init!r}")
    for meta in metas:
        if not isinstance(meta, Mapping):
            raise ValueError(f"kernel_metadata must be a mapping (or one per factor), got {meta!r}")
    values = []
    for shape, init in zip(shapes, inits, strict=True):
        key = rngs.params()
        shape = tuple(shape)
        values.append(default(key, shape) if init is None else init(key, shape, param_dtype))
    if kernel_init is None:
        values = [jnp.asarray(v).astype(param_dtype) for v in (finish or list)(values)]
    return [nnx.Param(v, **meta) for v, meta in zip(values, metas, strict=True)]


def bias_param(rngs: nnx.Rngs | None, n: int, param_dtype, options: Mapping[str, Any]) -> nnx.Param:
    """The bias ``(n,)``: zeros (no key drawn, so the factors' draws do not move) unless
    ``options["bias_init"]`` is given."""
    init = options["bias_init"]
    if init is None:
        value = jnp.zeros((n,), param_dtype)
    else:
        if rngs is None:
            raise ValueError("bias_init needs rngs")
        value = init(rngs.params(), (n,), param_dtype)
    return nnx.Param(value, **options["bias_metadata"])


def matmul(a, b, precision=None, dot_general=jax.lax.dot_general):
    """``a @ b`` (``b`` a matrix) through ``dot_general`` at ``precision``."""
    return dot_general(a, b, (((a.ndim - 1,), (0,)), ((), ())), precision=precision)


def pair(name: str, value) -> tuple[int, int]:
    """A positive int or a pair of them, as a pair (Tucker-2 ranks)."""
    v = (value, value) if isinstance(value, int) else tuple(value)
    if len(v) != 2 or any(int(a) != a or a < 1 for a in v):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(v[0]), int(v[1])


class FactorizedConv(nnx.Module):
    """Shared geometry, bias, dtype promotion, counts and conversion to ``nnx.Conv``.

    A layer has ``d = len(kernel_size)`` spatial axes (``dims``: the ones its structure
    allows) and takes channels-last inputs, ``(N, *spatial, in)`` or unbatched.
    """

    def _setup(
        self,
        in_features,
        out_features,
        kernel_size,
        strides,
        padding,
        use_bias,
        dtype,
        param_dtype,
        rngs=None,
        options=EMPTY,
        dims: Sequence[int] = CONV_DIMS,
    ):
        opts = layer_options(options, CONV_DEFAULTS)
        self.precision = opts["precision"]
        self.conv_general_dilated = opts["conv_general_dilated"]
        self.in_features = check_positive("in_features", in_features)
        self.out_features = check_positive("out_features", out_features)
        self.kernel_size = kernel_dims(kernel_size, dims, type(self).__name__)
        self.strides = per_axis("strides", strides, len(self.kernel_size))
        self.padding = layer_padding(padding, self.kernel_size)
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.bias = bias_param(rngs, out_features, param_dtype, opts) if use_bias else None
        self.compression_error: float | None = None
        return opts

    @property
    def ndim(self) -> int:
        """The number of spatial axes ``d`` (1, 2 or 3)."""
        return len(self.kernel_size)

    def _stride_along(self, axes) -> tuple[int, ...]:
        """The layer's strides along the spatial ``axes``, 1 along the others."""
        return tuple(s if a in axes else 1 for a, s in enumerate(self.strides))

    def _conv(self, x, kernel, strides=None, padding="VALID", groups=1):
        """One channels-last stage (``NHWC`` / ``HWIO`` in 2-D; stride 1 unless given) through
        the layer's ``conv_general_dilated`` and precision.

        A depthwise stage (one filter per channel) with the default ``conv_general_dilated``
        is computed as a sum of shifted, scaled slices instead: XLA:CPU runs
        depthwise convolutions 50-100x slower than these fused elementwise products
        (``docs/benchmarks_cnn_latency.md``); the result is the same up to rounding."""
        channels = x.shape[-1]
        strides = (1,) * self.ndim if strides is None else tuple(strides)
        if (
            groups > 1
            and groups == channels
            and kernel.shape[-2:] == (1, channels)
            and self.conv_general_dilated is jax.lax.conv_general_dilated
            and (isinstance(padding, str) or min(min(p) for p in padding) >= 0)
        ):
            return depthwise_conv(x, kernel, strides, padding)
        if 1 < groups <= 8 and self.conv_general_dilated is jax.lax.conv_general_dilated:
            # a few groups: one ordinary convolution per group (XLA:CPU's grouped
            # convolutions are slower, more so at channel counts that are not multiples of 8)
            return jnp.concatenate(
                [
                    self._conv(xg, kg, strides, padding)
                    for xg, kg in zip(
                        jnp.split(x, groups, axis=-1),
                        jnp.split(kernel, groups, axis=-1),
                        strict=True,
                    )
                ],
                axis=-1,
            )
        return self.conv_general_dilated(
            x,
            kernel,
            strides,
            padding,
            dimension_numbers=dimension_numbers(self.ndim),
            feature_group_count=groups,
            precision=self.precision,
        )

    @abc.abstractmethod
    def _param_list(self) -> list[nnx.Param]: ...

    @abc.abstractmethod
    def _forward(self, x, parts): ...

    @abc.abstractmethod
    def _kernel(self, parts) -> jax.Array: ...

    def kernel(self) -> jax.Array:
        """The equivalent dense ``(*kernel_size, in, out)`` kernel (formed on demand)."""
        return self._kernel([p[...] for p in self._param_list()])

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """Convolve channels-last inputs: ``(N, H, W, in)`` or unbatched ``(H, W, in)`` in 2-D,
        ``(N, W, in)`` in 1-D, ``(N, D, H, W, in)`` in 3-D."""
        d = self.ndim
        if inputs.ndim not in (d + 1, d + 2) or inputs.shape[-1] != self.in_features:
            axes = ", ".join(SPATIAL_AXES[len(SPATIAL_AXES) - d :])
            raise ValueError(
                f"inputs must be (N, {axes}, {self.in_features}) or ({axes}, "
                f"{self.in_features}) for a {d}-D convolution, got {inputs.shape}"
            )
        bias = self.bias[...] if self.bias is not None else None
        x, bias, *parts = dtypes.promote_dtype(
            (inputs, bias, *(p[...] for p in self._param_list())), dtype=self.dtype
        )
        assert x is not None
        batched = inputs.ndim == d + 2
        y = self._forward(x if batched else x[None], parts)
        y = y if batched else y[0]
        return y + bias if bias is not None else y

    @property
    def num_params(self) -> int:
        """Number of trainable scalars (factors and bias)."""
        return count_params(self)

    @abc.abstractmethod
    def flops_per_position(self) -> int:
        """Floating-point operations (2 per multiply-add) per output position at stride 1."""
        ...

    def to_conv(self, *, rngs: nnx.Rngs | None = None) -> nnx.Conv:
        """The :class:`flax.nnx.Conv` with this layer's equivalent kernel, geometry and bias."""
        kernel = self.kernel()
        conv = nnx.Conv(
            self.in_features,
            self.out_features,
            self.kernel_size,
            self.strides,
            padding=self.padding,
            use_bias=self.bias is not None,
            dtype=self.dtype,
            param_dtype=kernel.dtype,
            rngs=rngs if rngs is not None else nnx.Rngs(0),
        )
        conv.kernel[...] = kernel
        if self.bias is not None and conv.bias is not None:
            conv.bias[...] = self.bias[...]
        return conv

    def _init_parts(self, rngs, shapes, paths, opts):
        """Draw the stages so the equivalent kernel has the variance of a LeCun-normal conv
        (or with the user's ``kernel_init``), with the user's ``kernel_metadata`` (``opts``:
        what ``_setup`` returned)."""
        kernel_init, metadata = opts["kernel_init"], opts["kernel_metadata"]
        fan_in = math.prod(self.kernel_size) * self.in_features
        std = part_std(1.0 / fan_in, paths, len(shapes))
        default = lambda key, shape: scaled_normal(key, shape, std, jnp.float32)

        def finish(values):
            # exact: ||W||^2 = out_features, the expected squared norm of a LeCun-normal kernel
            norm = jnp.linalg.norm(self._kernel(values))
            scale = (jnp.sqrt(float(self.out_features)) / norm) ** (1.0 / len(values))
            return [v * scale for v in values]

        return factor_params(rngs, shapes, self.param_dtype, default, kernel_init, metadata, finish)

    def _load(self, values, bias, error):
        for p, v in zip(self._param_list(), values, strict=True):
            p[...] = jnp.asarray(v, self.param_dtype)
        if self.bias is not None and bias is not None:
            self.bias[...] = jnp.asarray(bias, self.param_dtype)
        self.compression_error = float(error)
        return self


def kernel_of(layer) -> tuple[jax.Array, jax.Array | None]:
    """The ``(in, out)`` kernel and bias of an ``nnx.Linear``-like layer (or a factorized one)."""
    if hasattr(layer, "kernel_matrix"):
        kernel = layer.kernel_matrix()
    elif hasattr(layer, "kernel"):
        kernel = jnp.asarray(layer.kernel[...])
    else:
        raise TypeError(f"layer must be an nnx.Linear-like module with a kernel, got {type(layer)}")
    if kernel.ndim != 2:
        raise ValueError(f"layer.kernel must be a matrix, got shape {kernel.shape}")
    bias = getattr(layer, "bias", None)
    bias = None if bias is None else jnp.asarray(bias[...])
    return kernel, bias


class FactorizedLinear(nnx.Module):
    """Shared machinery: bias, dtype promotion, the materialize switch, counts, conversion."""

    in_features: int
    out_features: int

    def _setup_common(
        self,
        in_features,
        out_features,
        use_bias,
        materialize,
        dtype,
        param_dtype,
        rngs=None,
        options=EMPTY,
    ):
        opts = layer_options(options, DENSE_DEFAULTS)
        self.precision = opts["precision"]
        self.dot_general = opts["dot_general"]
        self.in_features = check_positive("in_features", in_features)
        self.out_features = check_positive("out_features", out_features)
        self.use_bias = bool(use_bias)
        self.materialize = bool(materialize)
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.bias = bias_param(rngs, out_features, param_dtype, opts) if use_bias else None
        self.compression_error: float | None = None
        return opts

    def _factors(self, rngs, shapes, std, opts) -> list[nnx.Param]:
        """The factor parameters (lrjax's init with its exact rescaling, or the user's)."""
        default = lambda key, shape: scaled_normal(key, shape, std, self.param_dtype)
        return factor_params(
            rngs, shapes, self.param_dtype, default, opts["kernel_init"], opts["kernel_metadata"]
        )

    def _mm(self, a, b):
        """``a @ b`` through the layer's ``dot_general`` and ``precision``."""
        return matmul(a, b, self.precision, self.dot_general)

    @abc.abstractmethod
    def _parts(self) -> list[jax.Array]: ...

    @abc.abstractmethod
    def _param_list(self) -> list[nnx.Param]: ...

    def _normalize_init(self, opts) -> None:
        """Rescale the drawn factors so ``||W||_F^2 = out_features`` exactly.

        That is the expected squared norm of a LeCun-normal dense kernel (variance ``1 / in``),
        so for isotropic inputs the output variance equals the dense twin's. A user's
        ``kernel_init`` is kept as drawn.
        """
        if opts["kernel_init"] is not None:
            return
        params = self._param_list()
        norm = jnp.linalg.norm(self.kernel_matrix().astype(jnp.float32))
        scale = (jnp.sqrt(float(self.out_features)) / norm) ** (1.0 / len(params))
        for p in params:
            p[...] = (p[...] * scale).astype(p[...].dtype)

    @abc.abstractmethod
    def _matrix(self, parts: list[jax.Array]) -> jax.Array: ...

    def kernel_matrix(self) -> jax.Array:
        """The dense kernel ``W`` of shape ``(in_features, out_features)`` (formed on demand)."""
        return self._matrix(self._parts())

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """``inputs @ W + b`` over the last axis of ``inputs``."""
        if inputs.shape[-1] != self.in_features:
            raise ValueError(
                f"inputs.shape[-1] must be in_features={self.in_features}, got {inputs.shape}"
            )
        bias = self.bias[...] if self.bias is not None else None
        x, bias, *parts = dtypes.promote_dtype((inputs, bias, *self._parts()), dtype=self.dtype)
        y = self._matmul(parts)(x)
        return y + bias if bias is not None else y

    def _matmul(self, parts):
        if self.materialize:
            w = self._matrix(parts)
            return lambda x: self._mm(x, w)
        prepared = self._prepare(parts)

        def apply(x):
            batch = x.shape[:-1]
            y = self._apply_prepared(x.reshape(-1, self.in_features), prepared)
            return y.reshape(*batch, self.out_features)

        return apply

    def matmul_fn(self, dtype=None):
        """``x -> x @ W`` with the factor products prepared once (for use inside loops).

        Args:
            dtype: computation dtype the parameters are promoted to (default: the layer's).
        """
        parts = dtypes.promote_dtype(tuple(self._parts()), dtype=dtype or self.dtype)
        return self._matmul(list(parts))

    def _prepare(self, parts):
        return parts

    @abc.abstractmethod
    def _apply_prepared(self, x, prepared): ...

    @property
    def num_params(self) -> int:
        """Number of trainable scalars (factors and bias)."""
        return count_params(self)

    def flops_per_example(self) -> int:
        """Floating-point operations (2 per multiply-add) for one input row, bias excluded."""
        if self.materialize:
            return 2 * self.in_features * self.out_features
        return self._flops()

    @abc.abstractmethod
    def _flops(self) -> int: ...

    def to_dense(self, *, rngs: nnx.Rngs | None = None) -> nnx.Linear:
        """The :class:`flax.nnx.Linear` whose kernel is this layer's reconstructed ``W``."""
        kernel = self.kernel_matrix()
        dense = nnx.Linear(
            self.in_features,
            self.out_features,
            use_bias=self.use_bias,
            dtype=self.dtype,
            param_dtype=kernel.dtype,
            rngs=rngs if rngs is not None else nnx.Rngs(0),
        )
        dense.kernel[...] = kernel
        if self.bias is not None and dense.bias is not None:
            dense.bias[...] = self.bias[...]
        return dense

    def _load(self, values: Sequence[jax.Array], bias, error):
        for p, v in zip(self._param_list(), values, strict=True):
            p[...] = jnp.asarray(v, self.param_dtype)
        if self.bias is not None and bias is not None:
            self.bias[...] = jnp.asarray(bias, self.param_dtype)
        self.compression_error = float(error)
        return self


def tensor_of(kernel, in_modes, out_modes):
    """The ``(in, out)`` kernel as a tensor of shape ``(*in_modes, *out_modes)``."""
    return kernel.reshape(*in_modes, *out_modes)
