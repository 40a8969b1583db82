"""Shape constraints along the last axis: monotone and unimodal projections, smoothness."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _hyper


def _isotonic_increasing(x):
    r"""Least-squares non-decreasing fit along the last axis by the min-max formula
    :math:`\hat x_i = \max_{j \le i} \min_{k \ge i} \operatorname{mean}(x_j, \dots, x_k)`
    (Robertson, Wright & Dykstra 1988, Theorem 1.4.4): ``O(n^2)`` work and memory, no
    sequential pool-adjacent-violators loop, so it vectorises and differentiates."""
    n = x.shape[-1]
    csum = jnp.concatenate([jnp.zeros((*x.shape[:-1], 1), x.dtype), jnp.cumsum(x, -1)], -1)
    j = jnp.arange(n)[:, None]
    k = jnp.arange(n)[None, :]
    width = jnp.maximum(k - j + 1, 1).astype(x.dtype)
    means = (csum[..., None, 1:] - csum[..., :-1, None]) / width  # [.., j, k]
    means = jnp.where(k >= j, means, jnp.inf)
    suffix_min = lax.cummin(means, axis=means.ndim - 1, reverse=True)  # min over k >= i
    upper = jnp.where(k >= j, suffix_min, -jnp.inf)  # [.., j, i], only j <= i counts
    return jnp.max(upper, axis=-2)


def _check_x(x):
    x = _hyper.real_array("x", x)
    if x.ndim < 1:
        raise ValueError(f"`x` must have at least one axis, got shape {x.shape}.")
    return x


@functools.partial(jax.jit, static_argnames=("decreasing",))
def _projection_monotone(x, decreasing):
    return -_isotonic_increasing(-x) if decreasing else _isotonic_increasing(x)


def projection_monotone(
    x: Float[Array, "*b n"], hyperparams=None, scaling=1.0, *, decreasing: bool = False
) -> Float[Array, "*b n"]:
    r"""Projection onto monotone vectors along the last axis (isotonic regression).

    .. math:: \arg\min_{z_0 \le z_1 \le \dots \le z_{n-1}} \tfrac12 \|z - x\|^2

    (``z_0 >= z_1 >= ...`` with ``decreasing=True``), by the min-max formula
    :math:`z_i = \max_{j \le i} \min_{k \ge i} \operatorname{mean}(x_{j..k})` in ``O(n^2)``
    vectorised work per vector (no sequential loop; jit, vmap and grad). TensorLy's
    ``monotonicity_prox`` (there along columns).

    Args:
        x: array with at least one axis; each vector along the last axis is projected.
        hyperparams: unused (the constraint has no parameter).
        scaling: unused (a projection does not depend on it).
        decreasing: project on non-increasing vectors instead (static).

    Examples:
        >>> import jax.numpy as jnp
        >>> projection_monotone(jnp.array([1.0, 3.0, 2.0, 4.0])).tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    del hyperparams, scaling
    if not isinstance(decreasing, bool):
        raise ValueError(f"`decreasing` must be True or False, got {decreasing!r}.")
    return _projection_monotone(_check_x(x), decreasing)


@jax.jit
def _projection_unimodal(x):
    n = x.shape[-1]
    idx = jnp.arange(n)

    def candidate(m):
        """Non-decreasing up to index ``m``, non-increasing from ``m + 1`` on."""
        # the other part is set to max(x), which never pools with the fitted part, so each
        # fit equals the isotonic fit of its part alone
        up = _isotonic_increasing(jnp.where(idx <= m, x, jnp.max(x, -1, keepdims=True)))
        down = -_isotonic_increasing(-jnp.where(idx > m, x, jnp.max(x, -1, keepdims=True)))
        fit = jnp.where(idx <= m, up, down)
        return fit, jnp.sum((fit - x) ** 2, axis=-1)

    fits, errs = lax.map(candidate, idx)  # (n, ..., n), (n, ...)
    best = jnp.argmin(errs, axis=0)
    return jnp.take_along_axis(jnp.moveaxis(fits, 0, -2), best[..., None, None], -2)[..., 0, :]


def projection_unimodal(
    x: Float[Array, "*b n"], hyperparams=None, scaling=1.0
) -> Float[Array, "*b n"]:
    r"""Projection onto unimodal vectors along the last axis: non-decreasing up to a peak,
    non-increasing after it, the peak chosen to minimise :math:`\|z - x\|`.

    For each peak position ``m`` the head ``x_0..x_m`` gets its isotonic (non-decreasing) fit
    and the tail its antitonic fit (:func:`projection_monotone`); the best ``m`` is kept
    (Stout 2008). ``O(n^3)`` vectorised work per vector: meant for factor columns of up to a
    few hundred entries. jit, vmap and grad (piecewise linear in ``x``). TensorLy's
    ``unimodality_prox`` (there along columns).

    Args:
        x: array with at least one axis; each vector along the last axis is projected.
        hyperparams: unused.
        scaling: unused.

    Examples:
        >>> import jax.numpy as jnp
        >>> projection_unimodal(jnp.array([0.0, 2.0, 1.0, 3.0, 1.0])).tolist()
        [0.0, 1.5, 1.5, 3.0, 1.0]
    """
    del hyperparams, scaling
    return _projection_unimodal(_check_x(x))


@jax.jit
def _prox_smooth(x, reg, scaling):
    n = x.shape[-1]
    lam = reg * scaling
    if n == 1:
        return x
    ones = jnp.ones((n,), x.dtype)
    diag = 1.0 + lam * ones.at[1:-1].multiply(2.0)  # 1 + λ (D^T D)_ii: 1 at the ends, 2 inside
    off = -lam * ones
    lower, upper = off.at[0].set(0.0), off.at[-1].set(0.0)
    cols = x.reshape(-1, n).T  # (n, batch)
    z = lax.linalg.tridiagonal_solve(lower, diag, upper, cols)
    return z.T.reshape(x.shape)


def prox_smooth(x: Float[Array, "*b n"], smoothreg, scaling=1.0) -> Float[Array, "*b n"]:
    r"""Proximal operator of the first-difference (graph Laplacian) penalty along the last axis.

    .. math:: \arg\min_z \tfrac12 \|z - x\|^2 + \frac{s\lambda}{2} \sum_{i} (z_{i+1} - z_i)^2
       = (I + s\lambda D^\top D)^{-1} x

    one tridiagonal solve per vector (``O(n)``). Smooths each factor column as TensorLy's
    ``smoothness_prox``, whose tridiagonal matrix has ``1 + 2λ`` also at the two ends (a
    penalty on ``z_0`` and ``z_{n-1}`` as well); here the ends are free.

    Args:
        x: array with at least one axis; each vector along the last axis is smoothed.
        smoothreg: :math:`\lambda \ge 0` (scalar, traced).
        scaling: :math:`s \ge 0`.

    Examples:
        >>> import jax.numpy as jnp
        >>> z = prox_smooth(jnp.array([0.0, 3.0, 0.0]), 1.0)
        >>> [round(v, 4) for v in z.tolist()], round(float(z.sum()), 4)  # the mean is kept
        ([0.75, 1.5, 0.75], 3.0)
    """
    x = _check_x(x)
    _hyper.nonneg("smoothreg", smoothreg)
    _hyper.nonneg("scaling", scaling)
    return _prox_smooth(x, jnp.asarray(smoothreg, x.dtype), jnp.asarray(scaling, x.dtype))
