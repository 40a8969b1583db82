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
