"""Geometry of the factorized convolutions: spatial axes and their dimension numbers, kernel
sizes, strides and paddings per axis, the trained ``nnx.Conv`` a layer is built from, and the
depthwise stage as shifted slices.

The module is private; its names are public so that sibling modules import them as declared
internal entries (see ``tests/test_imports.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

# The letters of the spatial axes of 1-, 2- and 3-D convolutions, as in JAX's "NWC", "NHWC"
# and "NDHWC" layouts; the factorized convolutions take channels-last inputs of any of them.
SPATIAL_AXES = "DHW"
CONV_DIMS = (1, 2, 3)


def dimension_numbers(ndim: int) -> tuple[str, str, str]:
    """Channels-last ``dimension_numbers`` of an ``ndim``-D convolution (Flax's layout)."""
    axes = SPATIAL_AXES[len(SPATIAL_AXES) - ndim :]
    return f"N{axes}C", f"{axes}IO", f"N{axes}C"


def _positive_ints(value) -> tuple[int, ...] | None:
    """``value`` as a tuple of positive ints, or None when it is not one."""
    try:
        v = (value,) if isinstance(value, int | np.integer) else tuple(value)
    except TypeError:
        return None
    if not v or any(isinstance(a, bool) or int(a) != a or a < 1 for a in v):
        return None
    return tuple(int(a) for a in v)


def kernel_dims(value, dims: Sequence[int] = CONV_DIMS, layer: str = "") -> tuple[int, ...]:
    """The spatial kernel size: one positive int per spatial axis (``len`` in ``dims``); a
    single int is a square 2-D kernel (as in lrjax's 2-D layers; ``nnx.Conv`` reads it as
    1-D, so give ``(k,)`` for a 1-D kernel)."""
    v = _positive_ints(value)
    if v is not None and len(v) == 1 and isinstance(value, int | np.integer):
        v = (v[0], v[0])
    if v is None or len(v) not in dims:
        where = f"{layer} is a {_either(dims, '-')}-D convolution: " if layer else ""
        raise ValueError(
            f"{where}kernel_size must be a positive int (a square 2-D kernel) or "
            f"{_either(dims)} positive ints (one per spatial axis), got {value!r}"
        )
    return v


def _either(dims: Sequence[int], suffix: str = "") -> str:
    """``(1, 2, 3)`` as "1, 2 or 3" (``suffix`` after all but the last: "1-, 2- or 3")."""
    words = [f"{d}{suffix}" for d in dims[:-1]] + [str(dims[-1])]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def per_axis(name: str, value, ndim: int) -> tuple[int, ...]:
    """A positive int for every spatial axis or one per axis (strides)."""
    v = _positive_ints(value)
    if v is not None and len(v) == 1 and isinstance(value, int | np.integer):
        v = v * ndim
    if v is None or len(v) != ndim:
        raise ValueError(
            f"{name} must be a positive int or {ndim} of them (one per spatial axis), got {value!r}"
        )
    return v


def layer_padding(padding, kernel_size: Sequence[int]):
    """The layer's padding as given, ``"CAUSAL"`` (1-D only, as ``nnx.Conv``'s) as the explicit
    ``((k - 1, 0),)`` it stands for; ``stage_padding`` validates the rest."""
    if isinstance(padding, str) and padding.upper() == "CAUSAL":
        if len(kernel_size) != 1:
            raise ValueError(
                f"padding='CAUSAL' is for 1-D convolutions, got kernel_size {tuple(kernel_size)}"
            )
        return ((kernel_size[0] - 1, 0),)
    stage_padding(padding, range(len(kernel_size)), len(kernel_size))
    return padding


def stage_padding(padding, axes: Sequence[int] | range, ndim: int):
    """The padding of a stage of an ``ndim``-D layer that convolves only along the spatial
    ``axes`` (indices; the others have kernel size and stride 1): the layer's padding along
    them, none along the others."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"padding must be 'SAME', 'VALID', 'CAUSAL' (1-D), an int or one (low, high) "
                f"pair per spatial axis, got {padding!r}"
            )
        return padding.upper() if len(axes) else "VALID"
    try:
        if isinstance(padding, int | np.integer):
            pads: tuple = ((int(padding), int(padding)),) * ndim
        else:
            pads = tuple(
                (int(p), int(p)) if isinstance(p, int | np.integer) else tuple(map(int, p))
                for p in padding
            )
    except (TypeError, ValueError):
        pads = ()
    if len(pads) != ndim or any(len(p) != 2 for p in pads):
        raise ValueError(
            f"padding must give one (low, high) pair per spatial axis ({ndim}), got {padding!r}"
        )
    return tuple(pads[i] if i in axes else (0, 0) for i in range(ndim))


def conv_of(
    conv, dims: Sequence[int] = CONV_DIMS, layer: str = ""
) -> tuple[jax.Array, jax.Array | None, dict]:
    """Kernel, bias and geometry of a trained ``nnx.Conv`` (``len(dims)``-D: a kernel of
    ``d + 2`` axes for ``d`` in ``dims``; no dilation or groups)."""
    kernel = jnp.asarray(conv.kernel[...])
    if kernel.ndim - 2 not in dims:
        where = f" for {layer}" if layer else ""
        raise ValueError(
            f"conv.kernel must be a {_either(dims, '-')}-D convolution kernel{where} (spatial "
            f"axes, then in and out channels), got shape {kernel.shape}"
        )
    for attr in ("kernel_dilation", "input_dilation"):
        d = getattr(conv, attr, 1)
        if d not in (1, None) and tuple(np.atleast_1d(d)) != (1,) * len(np.atleast_1d(d)):
            raise ValueError(f"conv.{attr} must be 1 to compress, got {d!r}")
    if getattr(conv, "feature_group_count", 1) != 1:
        raise ValueError(f"conv.feature_group_count must be 1, got {conv.feature_group_count}")
    bias = None if getattr(conv, "bias", None) is None else jnp.asarray(conv.bias[...])
    strides = getattr(conv, "strides", 1) or 1
    geometry = {"strides": strides, "padding": getattr(conv, "padding", "SAME")}
    return kernel, bias, geometry


def depthwise_conv(x, kernel, strides, padding) -> jax.Array:
    """``conv_general_dilated(x, kernel, strides, padding, feature_group_count=C)`` for
    channels-last ``x`` with ``d`` spatial axes and a ``(k_1, ..., k_d, 1, C)`` kernel, as a sum
    of strided slices of the padded input times the per-channel weights (no dilation)."""
    ndim = x.ndim - 2
    size = kernel.shape[:ndim]
    strides = tuple(strides)
    if isinstance(padding, str):
        pads = jax.lax.padtype_to_pads(x.shape[1:-1], size, strides, padding)
    else:
        pads = [tuple(p) for p in padding]
    dtype = jnp.result_type(x.dtype, kernel.dtype)
    xp = jnp.pad(x.astype(dtype), ((0, 0), *(tuple(p) for p in pads), (0, 0)))
    out_size = [(xp.shape[1 + a] - size[a]) // strides[a] + 1 for a in range(ndim)]
    kernel = kernel.astype(dtype)
    out = jnp.zeros((x.shape[0], *out_size, x.shape[-1]), dtype)
    for idx in itertools.product(*(range(k) for k in size)):
        limit = [i + (o - 1) * s + 1 for i, o, s in zip(idx, out_size, strides, strict=True)]
        part = jax.lax.slice(
            xp, (0, *idx, 0), (xp.shape[0], *limit, xp.shape[-1]), (1, *strides, 1)
        )
        out = out + part * kernel[(*idx, 0)]
    return out
