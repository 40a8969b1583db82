"""Proximal operators of vector norms and projections onto simple sets.

Every operator has the signature ``prox(x, hyperparams, scaling=1.0)`` and returns

.. math:: \\operatorname{prox}_{s g}(x) =
   \\arg\\min_z \\tfrac12 \\|z - x\\|_2^2 + s\\, g(z; \\theta),

with ``s = scaling`` and ``θ = hyperparams`` (jaxopt's convention). For a projection ``g`` is
the indicator of the set and ``scaling`` has no effect. All are elementwise or closed-form,
so they run under ``jit``, ``vmap`` and ``grad`` (derivatives exist almost everywhere).

Hyperparameters out of range raise ``ValueError`` when concrete and give NaN when traced
(see ``lrjax._hyper``); NaN entries of ``x`` propagate to the result.

The elementwise operators (:func:`prox_l1`, :func:`prox_elastic_net`, :func:`prox_nonneg`,
:func:`projection_box`) also take a pytree ``x`` and act leaf by leaf, each hyperparameter
shared by every leaf or given as a pytree of ``x``'s structure; :func:`prox_l2` and
:func:`projection_l2_ball` treat a pytree's leaves as one vector (jaxopt's convention).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float

from .. import _hyper
from ._tree import as_one_vector, is_tree, leafwise


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
        x: any array, or a pytree of arrays (leaf by leaf).
        l1reg: :math:`\lambda \ge 0` (scalar or broadcastable to ``x``; for a pytree ``x``
            also a pytree of its structure).
        scaling: :math:`s`.

    Examples:
        >>> import jax.numpy as jnp
        >>> prox_l1(jnp.array([3.0, -0.5, -2.0]), 1.0).tolist()
        [2.0, -0.0, -1.0]

    Raises:
        ValueError: for a negative ``l1reg`` or ``scaling`` (when concrete).
    """
    if is_tree(x):
        return leafwise(prox_l1, x, l1reg, scaling, arity=1)
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
    if is_tree(x):
        return as_one_vector(prox_l2, x, l2reg, scaling)
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
    x = _hyper.real_array("x", x)
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
        x: any array, or a pytree of arrays (leaf by leaf).
        hyperparams: ``(l1reg, l2reg)``, both non-negative (each may be a pytree of a
            pytree ``x``'s structure).
        scaling: :math:`s`.

    Raises:
        ValueError: for a negative ``l1reg``, ``l2reg`` or ``scaling`` (when concrete).
    """
    if is_tree(x):
        return leafwise(prox_elastic_net, x, hyperparams, scaling, arity=2)
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
    if is_tree(x):
        return leafwise(prox_nonneg, x, None, scaling, arity=0)
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
    if is_tree(x):
        return leafwise(projection_box, x, hyperparams, scaling, arity=2)
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
    if is_tree(x):
        return as_one_vector(projection_l2_ball, x, radius, scaling)
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
    x = _hyper.real_array("x", x)
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


def prox_ksupport_sq(x: Float[Array, "*b n"], hyperparams, scaling=1.0) -> Float[Array, "*b n"]:
    r"""Prox of the squared k-support norm :math:`g(z) = \lambda (\|z\|_k^{sp})^2`, along the
    last axis (leading axes are batch axes).

    The k-support norm (Argyriou, Foygel & Srebro 2012) is the norm whose unit ball is the
    convex hull of the k-sparse vectors of unit ``l2`` norm: ``k = 1`` gives ``‖z‖_1``,
    ``k >= n`` gives ``‖z‖_2``; in between it selects groups of correlated entries without
    the ``l1`` norm's preference for one of them. Its square has the variational form
    :math:`\min_{\theta} \sum_i z_i^2/\theta_i` over ``0 < θ_i <= 1``, ``Σ θ_i <= k``, which
    gives the prox in closed form up to one scalar (McDonald, Pontil & Stamos 2016): with
    ``c = 2 s λ``,

    .. math:: z_i = \frac{\theta_i}{\theta_i + c} x_i, \qquad
       \theta_i = \operatorname{clip}(|x_i|/\beta - c,\ 0,\ 1),

    where ``β > 0`` makes ``Σ θ_i = k`` (or ``θ = 1``, ``z = x / (1 + c)``, when ``x`` has at
    most ``k`` non-zero entries). ``β`` is bracketed by the smallest non-zero and the largest
    ``|x|``, located by bisection (no sort) and then solved exactly on its linear piece, so
    the result is exact (to rounding) and differentiable in ``x`` and ``λ`` almost everywhere.

    Args:
        x: array with at least one axis; each vector along the last axis is one argument.
        hyperparams: ``(lam, k)``: ``lam >= 0`` and the integer ``k >= 1``.
        scaling: :math:`s \ge 0`.

    Examples:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([3.0, -1.0, 0.5])
        >>> prox_ksupport_sq(x, (0.5, 3)).tolist()  # k = n: the squared l2 norm, x / (1 + 2 s lam)
        [1.5, -0.5, 0.25]

    Raises:
        ValueError: for a 0-d ``x``, ``lam < 0``, ``k`` not an integer ``>= 1``, or
            ``scaling < 0`` (when concrete; traced values out of range give NaN).

    References:
        A. Argyriou, R. Foygel, N. Srebro, "Sparse prediction with the k-support norm",
        NeurIPS 2012. A. McDonald, M. Pontil, D. Stamos, "New perspectives on k-support and
        cluster norms", JMLR 17, 2016.
    """
    x = _hyper.real_array("x", x)
    if x.ndim < 1:
        raise ValueError(f"`x` must have at least one axis, got shape {x.shape}.")
    lam, k = _hyper.pair("hyperparams", hyperparams)
    _hyper.nonneg("hyperparams[0] (lam)", lam)
    _hyper.check(
        "hyperparams[1] (k)", k, lambda v: (v >= 1) & (v == np.round(v)), "an integer >= 1"
    )
    _scaling(scaling)
    x = _hyper.real_array("x", x)
    if x.size == 0:
        return x
    return _prox_ksupport_sq(x, lam, k, scaling)


@jax.jit
def _prox_ksupport_sq(x, lam, k, scaling):
    dtype = x.dtype
    c = jnp.asarray(2.0 * lam * scaling, dtype)
    k = jnp.asarray(k, dtype)
    cs = jnp.where(c > 0, c, 1.0)  # c = 0 is the identity, selected at the end
    a = jnp.abs(x)
    nnz = jnp.sum(a > 0, axis=-1, keepdims=True)
    sparse_enough = nnz <= k  # θ = 1 on the support is feasible, hence optimal
    # Bracket β: f(β) = Σ clip(a/β − c, 0, 1) falls from nnz > k at lo (every non-zero entry
    # at θ = 1) to 0 at hi. No sort: XLA's is slow on CPU, and each step below is one pass.
    a_stop = lax.stop_gradient(a)
    cs_stop = lax.stop_gradient(cs)
    amax = jnp.max(a_stop, axis=-1, keepdims=True)
    amin = jnp.min(jnp.where(a_stop > 0, a_stop, amax), axis=-1, keepdims=True)
    lo = jnp.where(sparse_enough, 1.0, amin / (1.0 + cs_stop))
    hi = jnp.where(sparse_enough, 2.0, amax / cs_stop)

    def count(beta):
        return jnp.sum(jnp.clip(a_stop / beta - cs_stop, 0.0, 1.0), axis=-1, keepdims=True)

    def halve(_, bounds):
        lo, hi = bounds
        mid = jnp.sqrt(lo * hi)
        above = count(mid) >= k
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    lo, hi = lax.fori_loop(0, 64 if dtype == jnp.float64 else 40, halve, (lo, hi))
    beta0 = jnp.sqrt(lo * hi)
    # Exact β on the linear piece that β0 lies on: Σ_mid (a/β − c) + |ones| = k.
    ratio = a_stop / beta0 - cs_stop
    ones = ratio >= 1.0
    mid = (ratio > 0.0) & ~ones
    n_ones = jnp.sum(ones, axis=-1, keepdims=True).astype(dtype)
    n_mid = jnp.sum(mid, axis=-1, keepdims=True).astype(dtype)
    denom = k - n_ones + cs * n_mid
    ok = (n_mid > 0) & (denom > 0)
    beta = jnp.where(
        ok,
        jnp.sum(jnp.where(mid, a, 0.0), axis=-1, keepdims=True) / jnp.where(ok, denom, 1.0),
        beta0,
    )
    # θ from the classification at β0, the same piece as β: exactly 1 or 0 (no derivative)
    # off the middle set, whose θ alone moves with x (a clip at a tie would pass half a one).
    theta = jnp.where(ones, 1.0, jnp.where(mid, jnp.clip(a / beta - cs, 0.0, 1.0), 0.0))
    z = jnp.where(sparse_enough, x / (1.0 + cs), x * theta / (theta + cs))
    out = jnp.where(c > 0, z, x)
    return _hyper.nan_unless(out, (lam >= 0) & (k >= 1) & (scaling >= 0))
