"""Argument checks shared by the metric modules (declared internal entries)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import _checks


def real_array(name: str, x) -> jax.Array:
    """``x`` as a real array, not empty (booleans and integers are promoted to float)."""
    arr = jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def binary(name: str, x: jax.Array) -> None:
    """A concrete ``x`` must hold only 0 and 1 (a mask, a ground truth, a piano roll)."""
    if _checks.is_concrete(x) and not bool(
        _checks.concrete_value(lambda a: jnp.all((a == 0) | (a == 1)), x)
    ):
        raise ValueError(f"`{name}` must be binary (boolean or 0/1), got other values.")


def unit_interval(name: str, x: jax.Array) -> None:
    """A concrete ``x`` must lie in [0, 1] (NaN passes: it propagates to the result)."""
    if _checks.is_concrete(x) and bool(
        _checks.concrete_value(lambda a: jnp.any((a < 0) | (a > 1)), x)
    ):
        raise ValueError(
            f"`{name}` must lie in [0, 1] (a mask or a probability), got other values."
        )


def same_shape(x, y, names: tuple[str, str] = ("x", "y")) -> tuple[jax.Array, jax.Array]:
    """``x`` and ``y`` as real arrays of one shape, in their common float dtype."""
    x, y = real_array(names[0], x), real_array(names[1], y)
    if x.shape != y.shape:
        raise ValueError(f"`{names[0]}` {x.shape} and `{names[1]}` {y.shape} must have one shape.")
    dtype = jnp.result_type(x.dtype, y.dtype, jnp.float32)
    return x.astype(dtype), y.astype(dtype)


def positive_range(data_range) -> None:
    """``data_range`` (the peak of PSNR / SSIM) must be positive."""
    _checks.positive("data_range", data_range)
