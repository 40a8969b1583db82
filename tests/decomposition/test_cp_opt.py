import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac

import lrjax
from lrjax.testing import factor_match_score, random_cp, relative_error
from tests.conftest import directional_fd


@pytest.mark.parametrize("method", ["lm", "lbfgs"])
def test_recovers_planted_cp(method):
    planted = random_cp(jax.random.key(1), (8, 7, 6), 3)
    x = planted.to_dense()
    cp, _ = lrjax.cp_opt(x, 3, method=method, maxiter=500, tol=1e-15)
    assert float(relative_error(x, cp.to_dense())) < 1e-8
    assert factor_match_score(planted, cp) > 0.999
    w = np.asarray(cp.weights)
    assert np.all(np.diff(w) <= 0) and np.all(w > 0)


def test_masked_cp_recovers_missing_entries():
    """cp_wopt's setting: 30 % of the entries missing; the true weighted objective (no
    imputation) recovers the planted tensor everywhere."""
    planted = random_cp(jax.random.key(2), (9, 8, 7), 3)
    x = planted.to_dense()
    mask = jnp.asarray(np.random.default_rng(0).random(x.shape) < 0.7)
    cp, _ = lrjax.cp_opt(jnp.where(mask, x, 0.0), 3, mask=mask, maxiter=300)
    assert float(relative_error(x, cp.to_dense())) < 1e-8
    cp_em, _ = lrjax.cp_als(jnp.where(mask, x, 0.0), 3, mask=mask, maxiter=3000, tol=1e-15)
    assert float(relative_error(x, cp_em.to_dense())) < 1e-5  # EM-ALS, same objective


def test_noisy_fit_at_least_as_good_as_tensorly():
    planted = random_cp(jax.random.key(3), (10, 9, 8), 3)
    x = planted.to_dense() + 0.1 * jax.random.normal(jax.random.key(4), (10, 9, 8))
    _, info = lrjax.cp_opt(x, 3, maxiter=300)
    tl_cp = parafac(tl.tensor(np.asarray(x)), 3, init="svd", n_iter_max=2000, tol=1e-12)
    tl_err = np.linalg.norm(np.asarray(x) - tl.cp_to_tensor(tl_cp)) / np.linalg.norm(x)
    assert float(info.error) <= tl_err * (1 + 1e-8)


def test_swamp_lm_and_line_search_beat_plain_als():
    """Two nearly collinear components: ALS stalls at 1.5 % error after 300 sweeps (with or
    without extrapolation, which only helps a little), Gauss-Newton fits exactly in < 100."""
    rng = np.random.default_rng(0)
    base = [rng.normal(size=(n, 1)) for n in (10, 9, 8)]
    factors = [np.hstack([b, b + 0.2 * rng.normal(size=b.shape), rng.normal(size=b.shape)])
               for b in base]  # fmt: skip
    x = jnp.asarray(np.einsum("ir,jr,kr->ijk", *factors))
    _, plain = lrjax.cp_als(x, 3, maxiter=300, tol=1e-12)
    _, ls = lrjax.cp_als(x, 3, maxiter=300, tol=1e-12, line_search=True)
    _, lm = lrjax.cp_opt(x, 3, maxiter=300)
    assert float(lm.error) < 1e-10 and int(lm.n_iter) < 100
    assert float(plain.error) > 1e-2
    assert float(ls.error) <= float(plain.error)


def test_grad_matches_finite_differences():
    x = random_cp(jax.random.key(5), (5, 4, 3), 2).to_dense()
    x = x + 0.01 * jax.random.normal(jax.random.key(6), x.shape)
    v = jax.random.normal(jax.random.key(7), x.shape)

    def loss(z, method="lm", diff="implicit"):
        res = lrjax.cp_opt(z, 2, method=method, diff=diff, tol=1e-14, maxiter=40)
        return jnp.sum(jnp.sin(res.cp.to_dense()))

    fd = directional_fd(loss, x, v, h=1e-5)
    grad = lambda *a: jax.jit(jax.grad(lambda z: loss(z, *a)))(x)
    grads = {d: float(jnp.sum(grad("lm", d) * v)) for d in ("implicit", "unroll")}
    for g in grads.values():
        np.testing.assert_allclose(g, float(fd), rtol=1e-6)
    # L-BFGS stops at a slightly different point for each perturbation (its line search), so
    # finite differences are noisy; its implicit gradient is that of the same stationary point.
    g_lbfgs = float(jnp.sum(grad("lbfgs") * v))
    np.testing.assert_allclose(g_lbfgs, grads["implicit"], rtol=1e-5)


def test_bad_input():
    x = jnp.ones((3, 4, 5))
    with pytest.raises(ValueError, match="method"):
        lrjax.cp_opt(x, 2, method="newton")
    with pytest.raises(ValueError, match="unroll"):
        lrjax.cp_opt(x, 2, method="lbfgs", diff="unroll")
    with pytest.raises(ValueError, match="not both"):
        lrjax.cp_opt(x, 2, weights=x, mask=x > 0)
    with pytest.raises(ValueError, match="boolean or 0/1"):
        lrjax.cp_opt(x, 2, mask=2 * x)
    with pytest.raises(ValueError, match="non-negative"):
        lrjax.cp_opt(x, 2, weights=-x)
    with pytest.raises(ValueError, match="all zero"):
        lrjax.cp_opt(x, 2, mask=x < 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lrjax.cp_als(x, 2, weights=2 * x)
