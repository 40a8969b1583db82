import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import non_negative_parafac_hals

import lrjax
from lrjax.testing import factor_match_score
from tests.conftest import directional_fd


def _planted(key, shape, rank):
    keys = jax.random.split(key, len(shape))
    factors = tuple(
        jnp.abs(jax.random.normal(k, (n, rank))) for k, n in zip(keys, shape, strict=True)
    )
    return lrjax.CPTensor(jnp.ones(rank), factors)


def test_recovers_planted_nonnegative_cp():
    planted = _planted(jax.random.key(0), (12, 10, 8), 3)
    x = planted.to_dense()
    cp, info = lrjax.cp_nonneg(x, 3, key=jax.random.key(1), maxiter=2000, tol=0.0)
    assert float(info.error) < 1e-8
    assert factor_match_score(planted, cp) > 0.999
    assert all(float(f.min()) >= 0 for f in cp.factors) and float(cp.weights.min()) >= 0


def test_noisy_matches_tensorly_hals():
    x = np.asarray(_planted(jax.random.key(2), (12, 10, 8), 3).to_dense())
    x = x + 0.05 * np.abs(np.random.default_rng(0).standard_normal(x.shape))
    _, info = lrjax.cp_nonneg(jnp.asarray(x), 3, key=jax.random.key(1), maxiter=2000, tol=1e-12)
    ref = non_negative_parafac_hals(x, 3, n_iter_max=2000, tol=1e-12, init="random", random_state=0)
    ref_err = np.linalg.norm(x - tl.cp_to_tensor(ref)) / np.linalg.norm(x)
    assert float(info.error) <= ref_err * (1 + 1e-6)


@pytest.mark.parametrize("diff", ["unroll", "implicit"])
def test_gradient_matches_finite_differences(diff):
    x0 = np.asarray(_planted(jax.random.key(3), (6, 5, 4), 2).to_dense()) + 0.05
    v = np.random.default_rng(1).standard_normal(x0.shape)
    c = np.random.default_rng(2).standard_normal((6, 2))

    def loss(x):
        cp, _ = lrjax.cp_nonneg(x, 2, key=jax.random.key(4), maxiter=400, tol=0.0, diff=diff)
        return jnp.sum(cp.weights) + jnp.sum(cp.factors[0] * c)

    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v, h=1e-6)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`x` must be non-negative, got 1 negative"):
        lrjax.cp_nonneg(jnp.ones((3, 3, 3)).at[0, 0, 0].set(-1.0), 2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`rank` must be a positive int"):
        lrjax.cp_nonneg(jnp.ones((3, 3, 3)), 0, key=jax.random.key(0))
