"""Regression scores (lrjax.metrics.mse, rmse, r2_score, correlation, reflective_correlation):
TensorLy's metrics/tests/test_regression re-told, and NumPy oracles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import metrics


def test_tensorlys_cases():
    y_true = jnp.array([1.0, 0.0, 2.0, -2.0], jnp.float32)
    np.testing.assert_allclose(metrics.mse(y_true, jnp.array([1.0, -1.0, 1.0, -1.0])), 0.75)
    np.testing.assert_allclose(metrics.rmse(y_true, jnp.array([0.0, -1.0, 1.0, -1.0])), 1.0)
    x = jax.random.normal(jax.random.key(0), (5, 4, 3))
    assert float(metrics.r2_score(x, x)) == 1.0
    assert float(metrics.r2_score(x, 2 * x)) == 0.0
    assert float(metrics.r2_score(x, jnp.zeros_like(x))) == 0.0
    a = jnp.asarray(np.random.default_rng(0).random(10))
    np.testing.assert_allclose(metrics.correlation(a, 2 * a + 1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(metrics.correlation(a, -2 * a + 1), -1.0, rtol=1e-6)
    a, b = jnp.array([1.0, 2, 3, 2, 1]), jnp.array([1.0, 2, 3, 4, 5])
    np.testing.assert_allclose(metrics.correlation(a, b), 0.0, atol=1e-7)
    np.testing.assert_allclose(
        metrics.correlation(jnp.stack([a] * 3), jnp.stack([b] * 3), axis=1), np.zeros(3), atol=1e-7
    )


def test_against_numpy_along_axes():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 7)), rng.standard_normal((6, 7))
    for axis in (None, 0, 1, -1):
        np.testing.assert_allclose(metrics.mse(x, y, axis=axis), np.mean((x - y) ** 2, axis=axis))
        np.testing.assert_allclose(
            metrics.rmse(x, y, axis=axis), np.sqrt(np.mean((x - y) ** 2, axis=axis))
        )
        refl = np.sum(x * y, axis=axis) / np.sqrt(
            np.sum(x * x, axis=axis) * np.sum(y * y, axis=axis)
        )
        np.testing.assert_allclose(metrics.reflective_correlation(x, y, axis=axis), refl)
    np.testing.assert_allclose(metrics.correlation(x, y), np.corrcoef(x.ravel(), y.ravel())[0, 1])
    want = [np.corrcoef(x[:, j], y[:, j])[0, 1] for j in range(7)]
    np.testing.assert_allclose(metrics.correlation(x, y, axis=0), want)
    g = jax.grad(lambda y: metrics.rmse(jnp.asarray(x), y))(jnp.asarray(y))
    np.testing.assert_allclose(g, (y - x) / (x.size * np.sqrt(np.mean((x - y) ** 2))))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="must have one shape"):
        metrics.mse(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="`axis`"):
        metrics.correlation(np.ones((2, 3)), np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="`y_true` must be real"):
        metrics.r2_score(np.ones(3) * 1j, np.ones(3))
