"""Regression scores of a prediction against the truth: MSE, RMSE, R², Pearson and reflective
correlation (TensorLy's ``metrics.regression``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._common import same_shape


def _axis(axis, ndim: int):
    """``axis`` (None, an int or a tuple of ints) checked against ``ndim``."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) and not isinstance(axis, bool) else axis
    if not isinstance(axes, tuple) or any(
        isinstance(a, bool) or not isinstance(a, int) or not -ndim <= a < ndim for a in axes
    ):
        raise ValueError(f"`axis` must be None or axes of the inputs (ndim {ndim}), got {axis!r}.")
    return axis


def mse(y_true: jax.Array, y_pred: jax.Array, *, axis=None) -> jax.Array:
    """Mean squared error ``mean((y_true - y_pred)²)`` over ``axis`` (all entries by
    default); TensorLy's ``MSE``.

    Raises:
        ValueError: for arrays of different shapes or a bad ``axis``.

    Examples:
        >>> float(mse(jnp.array([1.0, 0.0, 2.0, -2.0]), jnp.array([1.0, -1.0, 1.0, -1.0])))
        0.75
    """
    y_true, y_pred = same_shape(y_true, y_pred, ("y_true", "y_pred"))
    return jnp.mean((y_true - y_pred) ** 2, axis=_axis(axis, y_true.ndim))


def rmse(y_true: jax.Array, y_pred: jax.Array, *, axis=None) -> jax.Array:
    """Root mean squared error, ``sqrt(mse)``; TensorLy's ``RMSE``.

    Raises:
        ValueError: as :func:`mse`.
    """
    return jnp.sqrt(mse(y_true, y_pred, axis=axis))


def r2_score(y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
    """TensorLy's ``R2_score``: ``1 - ||y_pred - y_true||² / ||y_true||²`` over all entries
    (the fraction of the energy of ``y_true`` explained; 1 for a perfect prediction, 0 for
    zero, negative when worse than zero). Note: not centred, unlike scikit-learn's ``r2_score``.

    Raises:
        ValueError: for arrays of different shapes.
    """
    y_true, y_pred = same_shape(y_true, y_pred, ("y_true", "y_pred"))
    return 1 - jnp.sum((y_pred - y_true) ** 2) / jnp.sum(y_true**2)


def correlation(y_true: jax.Array, y_pred: jax.Array, *, axis=None) -> jax.Array:
    """Pearson's correlation coefficient over ``axis`` (all entries by default); TensorLy's
    ``correlation``. NaN where either input is constant along ``axis``.

    Raises:
        ValueError: as :func:`mse`.

    Examples:
        >>> a = jnp.array([1.0, 2.0, 4.0])
        >>> round(float(correlation(a, -2 * a + 1)), 6)
        -1.0
    """
    y_true, y_pred = same_shape(y_true, y_pred, ("y_true", "y_pred"))
    axis = _axis(axis, y_true.ndim)
    a = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    b = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    num = jnp.sum(a * b, axis=axis)
    return num / jnp.sqrt(jnp.sum(a * a, axis=axis) * jnp.sum(b * b, axis=axis))


def reflective_correlation(y_true: jax.Array, y_pred: jax.Array, *, axis=None) -> jax.Array:
    """The reflective (uncentred) correlation ``Σ y_true y_pred / sqrt(Σ y_true² Σ y_pred²)``
    over ``axis``; TensorLy's ``reflective_correlation_coefficient``.

    Raises:
        ValueError: as :func:`mse`.
    """
    y_true, y_pred = same_shape(y_true, y_pred, ("y_true", "y_pred"))
    axis = _axis(axis, y_true.ndim)
    num = jnp.sum(y_true * y_pred, axis=axis)
    return num / jnp.sqrt(jnp.sum(y_true**2, axis=axis) * jnp.sum(y_pred**2, axis=axis))
