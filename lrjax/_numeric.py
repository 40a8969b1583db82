"""Numerical helpers shared across lrjax's floors: divisions that keep the zero input's
answer (a zero tensor is fitted exactly by zero factors, with relative error 0)."""

from __future__ import annotations

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
# most 1e-6 of the residual it computes; elsewhere (good fits, float32 on large tensors) the
# dense residual is.
EXPANSION_MARGIN = 1e6


def expanded_relative_error(
    residual_sq: jax.Array, reference_sq: jax.Array, size: int, dense
) -> jax.Array:
    """The relative error ``sqrt(residual_sq / reference_sq)`` from a residual computed by the
    expansion ``||x||² − 2<x, x̂> + ||x̂||²`` (no dense reconstruction, one pass over ``x`` or
    none), or ``dense()`` (a callable, e.g. ``lambda: relative_error(x, x_hat)``) where the
    expansion's cancellation would cost more than a 1e-6 relative accuracy: when
    ``residual_sq < 1e6·eps·sqrt(size)·reference_sq`` or it is not finite. Under ``jit`` only
    one branch runs (``lax.cond``; under ``vmap`` both do). Differentiable either way."""
    eps = jnp.finfo(jnp.result_type(residual_sq)).eps
    floor = EXPANSION_MARGIN * eps * (size**0.5) * reference_sq
    accurate = jnp.isfinite(residual_sq) & (residual_sq >= floor) & (reference_sq > 0)
    return jax.lax.cond(accurate, lambda: relative(residual_sq, reference_sq), dense)
