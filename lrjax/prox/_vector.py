"""Proximal operators of vector norms and projections onto simple sets.

Every operator has the signature ``prox(x, hyperparams, scaling=1.0)`` and returns

.. math:: \\operatorname{prox}_{s g}(x) =
   \\arg\\min_z \\tfrac12 \\|z - x\\|_2^2 + s\\, g(z; \\theta),

with ``s = scaling`` and ``θ = hyperparams`` (jaxopt's convention). For a projection ``g`` is
the indicator of the set and ``scaling`` has no effect. All are elementwise or closed-form,
so they run under ``jit``, ``vmap`` and ``grad`` (derivatives exist almost everywhere).

Hyperparameters out of range raise ``ValueError`` when concrete and give NaN when traced
(see ``lrjax._hyper``); NaN entries of ``x`` propagate to the result.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float

from .. import _hyper


@jax.jit
def _prox_l1(x, l1reg, scaling):
    t = l1reg * scaling
    out = jnp.sign(x) * jnp.maximum(jnp.abs(x) - t, 0.0)
    return _hyper.nan_unless(out, (l1reg >= 0) & (scaling >= 0))


def _scaling(scaling) -> None:
    _hyper.nonneg("scaling", scaling)


def prox_l1(x: Float[Array, ...], l1reg, scaling=1.0) -> Float[Array, ...]:
    r"""Soft thresholding, the prox of :math:`g(z) = \lambda \|z\|_1`.

    :math:`z_i = \operatorname{sign}(x_i) \max(|x_i| - s\lambda, 0)`.

    Args:
        x: any array.
        l1reg: :math:`\lambda \ge 0` (scalar or broadcastable to ``x``).
        scaling: :math:`s`.

    Examples:
        >>> import jax.numpy as jnp
        >>> prox_l1(jnp.array([3.0, -0.5, -2.0]), 1.0).tolist()
        [2.0, -0.0, -1.0]

    Raises:
        ValueError: for a negative ``l1reg`` or ``scaling`` (when concrete).
    """
    _hyper.nonneg("l1reg", l1reg)
    _scaling(scaling)
    return _prox_l1(_hyper.real_array("x", x), l1reg, scaling)


def _block_shrink(x, t, axis):
    norm = jnp.sqrt(jnp.sum(x * x, axis=axis, keepdims=True))
    safe = jnp.where(norm > 0, norm, 1.0)
    return x * jnp.maximum(1.0 - t / safe, 0.0)


@functools.partial(jax.jit, static_argnames=("axis",))
def _block_prox(x, reg, scaling, axis):
    out = _block_shrink(x, reg * scaling, axis=axis)
    return _hyper.nan_unless(out, (reg >= 0) & (scaling >= 0))


def prox_l2(x: Float[Array, ...], l2reg, scaling=1.0) -> Float[Array, ...]:
    r"""Block soft thresholding, the prox of :math:`g(z) = \lambda \|z\|_2` (not squared).

    :math:`z = \max(1 - s\lambda / \|x\|_2, 0)\, x`, the whole array treated as one vector.
    For the squared norm use :func:`prox_elastic_net` with ``l1reg = 0``.

    Raises:
        ValueError: for a negative ``l2reg`` or ``scaling`` (when concrete).
    """
    _hyper.nonneg("l2reg", l2reg)
    _scaling(scaling)
    return _block_prox(_hyper.real_array("x", x), l2reg, scaling, None)


def prox_group_l21(
    x: Float[Array, "m n"], l21reg, scaling=1.0, *, axis: int = -1
) -> Float[Array, "m n"]:
    r"""Prox of the :math:`\ell_{2,1}` norm :math:`g(Z) = \lambda \sum_i \|Z_{i,:}\|_2`.

    Each group (a row with ``axis=-1``, a column with ``axis=0``) is block soft-thresholded.
    Used for column-sparse outliers (outlier pursuit) and row-sparse codes.

    Args:
        x: array with at least one axis.
        l21reg: :math:`\lambda \ge 0`.
        scaling: :math:`s \ge 0`.
        axis: the axis along which a group lies (an int; ``-1``: rows are groups).

    Raises:
        ValueError: for a negative ``l21reg`` or ``scaling``, or an ``axis`` that is not an
            axis of ``x``.
    """
    x = jnp.asarray(x)
    if isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"`axis` must be an int axis of `x` (shape {x.shape}), got {axis!r}.")
    _hyper.nonneg("l21reg", l21reg)
    _scaling(scaling)
    return _block_prox(_hyper.real_array("x", x), l21reg, scaling, axis)


@jax.jit
def _prox_elastic_net(x, l1reg, l2reg, scaling):
    out = _prox_l1(x, l1reg, scaling) / (1.0 + l2reg * scaling)
    return _hyper.nan_unless(out, l2reg >= 0)


def prox_elastic_net(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of :math:`g(z) = \lambda_1 \|z\|_1 + \tfrac{\lambda_2}{2} \|z\|_2^2`.

    :math:`z = \operatorname{soft}(x, s\lambda_1) / (1 + s\lambda_2)`.

    Args:
        x: any array.
        hyperparams: ``(l1reg, l2reg)``, both non-negative.
        scaling: :math:`s`.

    Raises:
        ValueError: for a negative ``l1reg``, ``l2reg`` or ``scaling`` (when concrete).
    """
    l1reg, l2reg = _hyper.pair("hyperparams", hyperparams)
    _hyper.nonneg("hyperparams[0] (l1reg)", l1reg)
    _hyper.nonneg("hyperparams[1] (l2reg)", l2reg)
    _scaling(scaling)
    return _prox_elastic_net(_hyper.real_array("x", x), l1reg, l2reg, scaling)


@jax.jit
def _prox_nonneg(x):
    return jnp.maximum(x, 0.0)


def prox_nonneg(x: Float[Array, ...], hyperparams=None, scaling=1.0) -> Float[Array, ...]:
    """Projection onto the non-negative orthant, ``max(x, 0)`` (``hyperparams`` unused).

    Raises:
        ValueError: for complex ``x``.
    """
    del hyperparams, scaling
    return _prox_nonneg(_hyper.real_array("x", x))


@jax.jit
def _projection_box(x, lower, upper):
    return _hyper.nan_unless(jnp.clip(x, lower, upper), lower <= upper)


def projection_box(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    """Projection onto the box ``lower <= z <= upper``; ``hyperparams = (lower, upper)``
    (scalars or arrays broadcastable to ``x``).

    Raises:
        ValueError: if ``hyperparams`` is not a pair or (when concrete) ``lower > upper``
            somewhere: the box is empty.
    """
    del scaling
    lower, upper = _hyper.pair("hyperparams", hyperparams)
    lo, up = _hyper.concrete(lower), _hyper.concrete(upper)
    if lo is not None and up is not None and bool(np.any(lo > up)):
        raise ValueError(
            f"`hyperparams` = (lower, upper) must have lower <= upper (an empty box has no "
            f"projection), got {hyperparams!r}."
        )
    return _projection_box(_hyper.real_array("x", x), lower, upper)


@jax.jit
def _projection_l2_ball(x, radius):
    norm = jnp.linalg.norm(x.ravel())
    out = x * jnp.minimum(1.0, radius / jnp.where(norm > 0, norm, 1.0))
    return _hyper.nan_unless(out, radius >= 0)


def projection_l2_ball(x: Float[Array, ...], radius=1.0, scaling=1.0) -> Float[Array, ...]:
    r"""Projection onto :math:`\{z : \|z\|_2 \le r\}` (the whole array as one vector).

    Raises:
        ValueError: for a negative ``radius`` (when concrete).
    """
    del scaling
    _hyper.nonneg("radius", radius)
    return _projection_l2_ball(_hyper.real_array("x", x), radius)


def projection_simplex(x: Float[Array, " n"], value=1.0, scaling=1.0) -> Float[Array, " n"]:
    r"""Projection onto the simplex :math:`\{z \ge 0 : \sum_i z_i = v\}` along the last axis.

    Sort-based algorithm (Held, Wolfe & Crowder 1974; Duchi et al. 2008): with ``u`` sorted
    descending, ``ρ = max{j : u_j - (Σ_{i≤j} u_i - v)/j > 0}`` and
    ``z = max(x - (Σ_{i≤ρ} u_i - v)/ρ, 0)``. Leading axes are batch axes.

    The entries are first shifted by their maximum (the projection is unchanged by adding a
    constant to every entry), so that the partial sums do not cancel: ``[1e9, 0]`` in float32
    projects to ``[1, 0]``, not to zeros.

    Args:
        x: array with at least one axis; the last axis is projected.
        value: :math:`v > 0`.
        scaling: unused.

    Raises:
        ValueError: for a non-positive ``value`` (when concrete) or a 0-d ``x``.
    """
    del scaling
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"`x` must have at least one axis, got shape {x.shape}.")
    _hyper.positive("value", value)
    return _projection_simplex(_hyper.real_array("x", x), value)


@jax.jit
def _projection_simplex(x, value):
    x = x - lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    u = -jnp.sort(-x, axis=-1)
    css = jnp.cumsum(u, axis=-1) - value
    idx = jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    cond = u - css / idx > 0
    rho = jnp.sum(cond, axis=-1, keepdims=True)  # at least 1
    theta = jnp.take_along_axis(css, rho - 1, axis=-1) / rho.astype(x.dtype)
    return _hyper.nan_unless(jnp.maximum(x - theta, 0.0), value > 0)
