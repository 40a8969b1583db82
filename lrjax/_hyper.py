"""Checks of proximal hyperparameters, eager and traced.

A concrete hyperparameter out of its range raises ``ValueError`` naming it (an eager call, or
a Python number passed into a jitted caller). A traced one cannot be checked before the call:
the prox then returns NaN wherever the condition fails, so a bad value shows up as data (as a
solver's non-finite ``info.error``), never as a wrong finite answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks


def all_concrete(value: Any) -> bool:
    """True when no leaf of the pytree ``value`` is a tracer."""
    return all(_checks.is_concrete(v) for v in jax.tree.leaves(value))


def concrete(value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array if it is concrete (no tracer inside), else None."""
    if not all_concrete(value):
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def check(name: str, value: Any, condition: Callable[[np.ndarray], Any], allowed: str) -> None:
    """Raise ``ValueError`` if a concrete ``value`` fails ``condition`` (elementwise, all must
    hold); NaN always fails. A traced value is not checked here (see :func:`nan_unless`)."""
    arr = concrete(value)
    if arr is None:
        return
    with np.errstate(invalid="ignore"):
        good = bool(np.all(condition(arr)) and not np.any(np.isnan(arr)))
    if not good:
        shown = value if arr.size <= 8 else f"an array with min {np.nanmin(arr)}"
        raise ValueError(f"`{name}` must be {allowed}, got {shown!r}.")


def nonneg(name: str, value: Any) -> None:
    """A concrete hyperparameter must be >= 0 (a traced one is left to :func:`nan_unless`)."""
    check(name, value, lambda v: v >= 0, "non-negative")


def positive(name: str, value: Any) -> None:
    """A concrete hyperparameter must be > 0 (a traced one is left to :func:`nan_unless`)."""
    check(name, value, lambda v: v > 0, "positive")


def pair(name: str, value: Any) -> tuple[Any, Any]:
    """Unpack a two-element hyperparameter, or raise naming it."""
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a pair of values, got {value!r}.") from None
    return first, second


def nan_unless(out: jax.Array, ok: Any) -> jax.Array:
    """``out`` where the (traced) condition ``ok`` holds, NaN elsewhere (``ok`` broadcasts)."""
    return jnp.where(ok, out, jnp.array(jnp.nan, dtype=out.dtype))


_NUMBERS = (int, float, complex, np.generic)


def is_tree(x: Any) -> bool:
    """True for a container of arrays (a dict, a tuple of arrays, a registered pytree); False
    for one array, a number, None, or a (nested) list of numbers, which stand for one array."""
    if x is None or isinstance(x, (jax.Array, np.ndarray, *_NUMBERS)):
        return False
    leaves = jax.tree.leaves(x)
    if isinstance(x, list) and leaves and all(isinstance(v, _NUMBERS) for v in leaves):
        return False
    return True


def real_array(name: str, x: Any) -> jax.Array:
    """``x`` as a real floating array (integers and booleans promoted); complex is an error,
    and so is a pytree of arrays (an operator that takes one reaches here with its leaves).
    Empty arrays pass: an elementwise prox maps them to empty arrays."""
    if is_tree(x):
        raise ValueError(
            f"`{name}` must be an array, got a {type(x).__name__} of arrays: this operator acts "
            "on one array (its last axis or its matrices), apply it to each leaf."
        )
    arr = jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def matrix(name: str, x: Any, *, ndim: int | None = None, min_ndim: int = 2) -> jax.Array:
    """``x`` as a real, non-empty array with at least ``min_ndim`` (or exactly ``ndim``)
    dimensions."""
    arr = real_array(name, x)
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} dimensions, got shape {arr.shape}.")
    if arr.ndim < min_ndim:
        raise ValueError(
            f"`{name}` must have at least {min_ndim} dimensions (a matrix, leading axes "
            f"batch), got shape {arr.shape}."
        )
    return arr
