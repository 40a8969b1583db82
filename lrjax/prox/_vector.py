"""Proximal operators of vector norms and projections onto simple sets.

Every operator has the signature ``prox(x, hyperparams, scaling=1.0)`` and returns

.. math:: \\operatorname{prox}_{s g}(x) =
   \\arg\\min_z \\tfrac12 \\|z - x\\|_2^2 + s\\, g(z; \\theta),

with ``s = scaling`` and ``θ = hyperparams`` (jaxopt's convention). For a projection ``g`` is
the indicator of the set and ``scaling`` has no effect. All are elementwise or closed-form,
so they run under ``jit``, ``vmap`` and ``grad`` (derivatives exist almost everywhere).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


@jax.jit
def prox_l1(x: Float[Array, ...], l1reg, scaling=1.0) -> Float[Array, ...]:
    r"""Soft thresholding, the prox of :math:`g(z) = \lambda \|z\|_1`.

    :math:`z_i = \operatorname{sign}(x_i) \max(|x_i| - s\lambda, 0)`.

    Args:
        x: any array.
        l1reg: :math:`\lambda \ge 0` (scalar or broadcastable to ``x``).
        scaling: :math:`s`.

    Example:
        >>> import jax.numpy as jnp
        >>> prox_l1(jnp.array([3.0, -0.5, -2.0]), 1.0).tolist()
        [2.0, -0.0, -1.0]
    """
    t = l1reg * scaling
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - t, 0.0)


def _block_shrink(x, t, axis):
    norm = jnp.sqrt(jnp.sum(x * x, axis=axis, keepdims=True))
    safe = jnp.where(norm > 0, norm, 1.0)
    return x * jnp.maximum(1.0 - t / safe, 0.0)


@jax.jit
def prox_l2(x: Float[Array, ...], l2reg, scaling=1.0) -> Float[Array, ...]:
    r"""Block soft thresholding, the prox of :math:`g(z) = \lambda \|z\|_2` (not squared).

    :math:`z = \max(1 - s\lambda / \|x\|_2, 0)\, x`, the whole array treated as one vector.
    For the squared norm use :func:`prox_elastic_net` with ``l1reg = 0``.
    """
    return _block_shrink(x, l2reg * scaling, axis=None)


@functools.partial(jax.jit, static_argnames=("axis",))
def prox_group_l21(
    x: Float[Array, "m n"], l21reg, scaling=1.0, *, axis: int = -1
) -> Float[Array, "m n"]:
    r"""Prox of the :math:`\ell_{2,1}` norm :math:`g(Z) = \lambda \sum_i \|Z_{i,:}\|_2`.

    Each group (a row with ``axis=-1``, a column with ``axis=0``) is block soft-thresholded.
    Used for column-sparse outliers (outlier pursuit) and row-sparse codes.
    """
    return _block_shrink(x, l21reg * scaling, axis=axis)


@jax.jit
def prox_elastic_net(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of :math:`g(z) = \lambda_1 \|z\|_1 + \tfrac{\lambda_2}{2} \|z\|_2^2`.

    :math:`z = \operatorname{soft}(x, s\lambda_1) / (1 + s\lambda_2)`.

    Args:
        x: any array.
        hyperparams: ``(l1reg, l2reg)``, both non-negative.
        scaling: :math:`s`.
    """
    l1reg, l2reg = hyperparams
    return prox_l1(x, l1reg, scaling) / (1.0 + l2reg * scaling)


@jax.jit
def prox_nonneg(x: Float[Array, ...], hyperparams=None, scaling=1.0) -> Float[Array, ...]:
    """Projection onto the non-negative orthant, ``max(x, 0)`` (``hyperparams`` unused)."""
    del hyperparams, scaling
    return jnp.maximum(x, 0.0)


@jax.jit
def projection_box(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    """Projection onto the box ``lower <= z <= upper``; ``hyperparams = (lower, upper)``."""
    del scaling
    lower, upper = hyperparams
    return jnp.clip(x, lower, upper)


@jax.jit
def projection_l2_ball(x: Float[Array, ...], radius=1.0, scaling=1.0) -> Float[Array, ...]:
    r"""Projection onto :math:`\{z : \|z\|_2 \le r\}` (the whole array as one vector)."""
    del scaling
    norm = jnp.linalg.norm(x.ravel())
    return x * jnp.minimum(1.0, radius / jnp.where(norm > 0, norm, 1.0))


@jax.jit
def projection_simplex(x: Float[Array, " n"], value=1.0, scaling=1.0) -> Float[Array, " n"]:
    r"""Projection onto the simplex :math:`\{z \ge 0 : \sum_i z_i = v\}` along the last axis.

    Sort-based algorithm (Held, Wolfe & Crowder 1974; Duchi et al. 2008): with ``u`` sorted
    descending, ``ρ = max{j : u_j - (Σ_{i≤j} u_i - v)/j > 0}`` and
    ``z = max(x - (Σ_{i≤ρ} u_i - v)/ρ, 0)``. Leading axes are batch axes.

    Args:
        x: array; the last axis is projected.
        value: :math:`v > 0`.
        scaling: unused.
    """
    del scaling
    u = -jnp.sort(-x, axis=-1)
    css = jnp.cumsum(u, axis=-1) - value
    idx = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    cond = u - css / idx > 0
    rho = jnp.sum(cond, axis=-1, keepdims=True)  # at least 1
    theta = jnp.take_along_axis(css, rho - 1, axis=-1) / rho.astype(x.dtype)
    return jnp.maximum(x - theta, 0.0)
