"""Numerical helpers shared across lrjax's floors: divisions that keep the zero input's
answer (a zero tensor is fitted exactly by zero factors, with relative error 0)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    """``num / den`` with ``0 / 0 = 0`` (a nonzero over zero stays infinite); the derivative
    is finite at ``den = 0`` (double ``where``)."""
    zero = den == 0
    return jnp.where(zero & (num == 0), jnp.zeros_like(num), num / jnp.where(zero, 1.0, den)) + (
        jnp.where(zero & (num != 0), jnp.inf, 0.0).astype(jnp.result_type(num))
    )


def relative(residual_sq: jax.Array, reference_sq: jax.Array) -> jax.Array:
    """``sqrt(residual_sq / reference_sq)``, 0 when both are zero (the zero input fitted
    exactly), the square root differentiable at zero residual; NaN in gives NaN."""
    q = ratio(jnp.maximum(residual_sq, 0.0), reference_sq)
    pos = q > 0
    root = jnp.sqrt(jnp.where(pos, q, 1.0))
    return jnp.where(pos, root, jnp.where(q == 0, 0.0, jnp.nan))  # NaN stays NaN


def relative_error(x: jax.Array, x_hat: jax.Array) -> jax.Array:
    """``||x - x_hat||_F / ||x||_F``, 0 when both are zero."""
    d = (x - x_hat).ravel()
    return relative(jnp.vdot(d, d).real, jnp.vdot(x.ravel(), x.ravel()).real)


# The expansion ||x||² − 2<x, x̂> + ||x̂||² subtracts numbers of size ||x||²: its rounding error
# is about eps·sqrt(size)·||x||² (sums over `size` terms). It is used only where that is at
# most 1e-6 of the residual it computes; elsewhere (good fits) the dense residual is. Where
# even an error of 1 would fail that test (float32 above ~70 entries), or the dense residual
# is cheap anyway (under 2^20 entries: about a millisecond), only the dense branch is built,
# which keeps small first calls from compiling a branch they would not use.
EXPANSION_MARGIN = 1e6
EXPANSION_MIN_SIZE = 2**20


def _relative_floor(size: int, dtype) -> float:
    """``1e6·eps·sqrt(size)``: the expansion's residual must be at least this times
    ``||x||²`` for its rounding to stay under 1e-6 of it."""
    return EXPANSION_MARGIN * float(jnp.finfo(dtype).eps) * size**0.5


def expansion_pays(size: int, dtype) -> bool:
    """Whether :func:`expanded_relative_error` builds the expansion at all (static): a tensor
    of at least ``2^20`` entries whose dtype can resolve it (``1e6·eps·sqrt(size) < 1``)."""
    return size >= EXPANSION_MIN_SIZE and _relative_floor(size, dtype) < 1


def expanded_relative_error(
    residual_sq: Callable[[], jax.Array],
    reference_sq: jax.Array,
    size: int,
    dtype,
    dense: Callable[[], jax.Array],
) -> jax.Array:
    """The relative error ``sqrt(r / reference_sq)`` with ``r = residual_sq()`` computed by
    the expansion ``||x||² − 2<x, x̂> + ||x̂||²`` (no dense reconstruction: one pass over
    ``x`` or none), or ``dense()`` (e.g. ``lambda: relative_error(x, x_hat)``) where the
    expansion's cancellation would cost more than a 1e-6 relative accuracy: when
    ``r < 1e6·eps·sqrt(size)·reference_sq`` or ``r`` is not finite (chosen at run time by
    ``lax.cond``: under ``jit`` one branch runs, under ``vmap`` both). Only ``dense`` is
    built when ``size`` is under ``2^20`` or ``1e6·eps·sqrt(size) >= 1`` (float32 above ~70
    entries; ``size`` and ``dtype`` are static). Differentiable either way."""
    if not expansion_pays(size, dtype):
        return dense()
    r = residual_sq()
    floor = _relative_floor(size, dtype) * reference_sq
    accurate = jnp.isfinite(r) & (r >= floor) & (reference_sq > 0)
    return jax.lax.cond(accurate, lambda: relative(r, reference_sq), dense)
