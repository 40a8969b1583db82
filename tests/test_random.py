"""lrjax's flat random draws (``lrjax._random``) give exactly ``jax.random``'s values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import _random

SHAPES = [(), (7,), (6, 5), (4, 3, 5), (2, 3, 4, 2), (0, 3)]


@pytest.mark.parametrize("partitionable", [True, False], ids=["partitionable", "classic"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_same_values_as_jax_random(partitionable, dtype):
    key = jax.random.key(11)
    with jax.threefry_partitionable(partitionable):
        for shape in SHAPES:
            np.testing.assert_array_equal(
                _random.normal(key, shape, dtype), jax.random.normal(key, shape, dtype)
            )
            np.testing.assert_array_equal(
                _random.uniform(key, shape, dtype, 0.5, 1.5),
                jax.random.uniform(key, shape, dtype, 0.5, 1.5),
            )
            assert _random.normal(key, shape, dtype).dtype == dtype
            np.testing.assert_array_equal(
                _random.bernoulli(key, 0.3, shape), jax.random.bernoulli(key, 0.3, shape)
            )
            np.testing.assert_array_equal(
                _random.rademacher(key, shape, dtype), jax.random.rademacher(key, shape, dtype)
            )


def test_under_jit_and_vmap_and_with_array_bounds():
    keys = jax.random.split(jax.random.key(2), 3)
    draw = jax.jit(jax.vmap(lambda k: _random.normal(k, (4, 6))))
    np.testing.assert_array_equal(
        draw(keys), jax.vmap(lambda k: jax.random.normal(k, (4, 6)))(keys)
    )
    low = jnp.arange(6.0)  # bounds that broadcast against the shape: drawn as jax.random does
    np.testing.assert_array_equal(
        _random.uniform(keys[0], (4, 6), jnp.float64, low, low + 1),
        jax.random.uniform(keys[0], (4, 6), jnp.float64, low, low + 1),
    )
    assert _random.normal(keys[0], 5).shape == (5,)  # an int shape, as jax.random takes


def test_orthonormal_is_the_cholesky_qr_basis_of_the_same_gaussian_matrix():
    from lrjax.linalg import orthonormalize

    key = jax.random.key(5)
    for rows, cols in [(9, 4), (6, 6), (30, 1)]:
        q = _random.orthonormal(key, rows, cols, jnp.float64)
        np.testing.assert_allclose(q.T @ q, np.eye(cols), atol=1e-13)
        ref = orthonormalize(jax.random.normal(key, (rows, cols), jnp.float64))
        np.testing.assert_allclose(q, ref, atol=1e-11)  # R's diagonal positive in both
