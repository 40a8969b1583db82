"""Robust PCA and tensor robust PCA against planted low-rank + sparse problems."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.testing import random_low_rank_plus_sparse
from tests.conftest import directional_fd


def _planted_matrix(n, rank, frac, seed):
    low, sparse = random_low_rank_plus_sparse(jax.random.key(seed), n, rank, frac)
    return np.asarray(low), np.asarray(sparse)


@pytest.fixture(scope="module")
def candes_problem():
    # Candès et al. 2011, Sec. 4: rank 0.05 n, 5 % of entries corrupted by +-1.
    return _planted_matrix(200, 10, 0.05, seed=0)


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def test_robust_pca_exact_recovery(candes_problem):
    low, sparse = candes_problem
    res = lrjax.robust_pca(jnp.asarray(low + sparse))
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-6
    assert _rel(res.sparse, sparse) < 1e-6


def test_robust_pca_randomized_svt_recovers_too(candes_problem):
    low, sparse = candes_problem
    res = lrjax.robust_pca(
        jnp.asarray(low + sparse), low_rank=lrjax.RandomizedSVT(20, jax.random.key(0))
    )
    assert _rel(res.low_rank, low) < 1e-6


def test_robust_pca_nonconvex_penalty(candes_problem):
    low, sparse = candes_problem
    mcp = functools.partial(lrjax.prox.generalized_svt, prox_fn=lrjax.prox.prox_mcp)
    res = lrjax.robust_pca(jnp.asarray(low + sparse), low_rank=lrjax.LowRankProx(mcp, (1.0, 10.0)))
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-6


def test_tensor_robust_pca_exact_recovery():
    rng = np.random.default_rng(1)
    n1, n2, n3, r = 30, 30, 8, 2
    a = np.fft.fft(rng.standard_normal((n1, r, n3)), axis=2)
    b = np.fft.fft(rng.standard_normal((r, n2, n3)), axis=2)
    low = np.real(np.fft.ifft(np.einsum("irk,rjk->ijk", a, b), axis=2)) / 10  # tubal rank 2
    sparse = np.zeros_like(low)
    mask = rng.random(low.shape) < 0.05
    sparse[mask] = rng.choice([-1.0, 1.0], mask.sum())
    res = lrjax.tensor_robust_pca(jnp.asarray(low + sparse))
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-6


def test_robust_pca_gradient_matches_finite_differences():
    diff = "unroll"
    low, sparse = _planted_matrix(12, 2, 0.05, seed=3)
    m0 = low + sparse + 0.01 * np.random.default_rng(4).standard_normal(low.shape)
    w = np.random.default_rng(5).standard_normal(m0.shape)
    v = np.random.default_rng(6).standard_normal(m0.shape)

    def loss(m):
        # tol=0: a fixed number of iterations, so the function is smooth for the FD check.
        res = lrjax.robust_pca(m, tol=0.0, maxiter=300, diff=diff)
        return jnp.sum(res.low_rank * w)

    g = jax.jit(jax.grad(loss))(jnp.asarray(m0))
    fd = directional_fd(lambda m: float(loss(jnp.asarray(m))), m0, v, h=1e-7)  # strongly curved
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-4)


def test_vmap_batch_equals_loop():
    ms = jnp.stack([jnp.asarray(sum(_planted_matrix(20, 2, 0.05, seed=s))) for s in range(3)])
    batched = jax.vmap(lambda m: lrjax.robust_pca(m))(ms)
    for i in range(3):
        single = lrjax.robust_pca(ms[i])
        np.testing.assert_allclose(
            np.asarray(batched.low_rank[i]), np.asarray(single.low_rank), atol=1e-9
        )


def test_bad_arguments():
    with pytest.raises(ValueError, match="`m` must have 2 dimensions"):
        lrjax.robust_pca(jnp.ones(4))
    with pytest.raises(ValueError, match="`m` must be finite"):
        lrjax.robust_pca(jnp.full((3, 3), jnp.nan))
    with pytest.raises(ValueError, match="`lam` must be positive, got -1"):
        lrjax.robust_pca(jnp.ones((3, 3)), lam=-1.0)
    with pytest.raises(ValueError, match=r"`low_rank\.key` must be"):
        lrjax.robust_pca(jnp.ones((3, 3)), low_rank=lrjax.RandomizedSVT(2, None))
    with pytest.raises(ValueError, match="`diff` must be one of"):
        lrjax.robust_pca(jnp.ones((3, 3)), diff="implicit")
    with pytest.raises(ValueError, match="`x` must have 3 dimensions"):
        lrjax.tensor_robust_pca(jnp.ones((3, 3)))


def test_deprecated_low_rank_keywords_still_work_for_one_release(candes_problem):
    low, sparse = candes_problem
    m = jnp.asarray(low + sparse)
    new = lrjax.robust_pca(m, low_rank=lrjax.RandomizedSVT(20, jax.random.key(0)), maxiter=30)
    with pytest.warns(DeprecationWarning, match=r"`key`, `svt_rank` of robust_pca are deprecated"):
        old = lrjax.robust_pca(m, svt_rank=20, key=jax.random.key(0), maxiter=30)
    np.testing.assert_array_equal(old.low_rank, new.low_rank)
    mcp = functools.partial(lrjax.prox.generalized_svt, prox_fn=lrjax.prox.prox_mcp)
    with pytest.warns(DeprecationWarning, match="LowRankProx"):
        old = lrjax.robust_pca(m, low_rank_prox=mcp, low_rank_hyperparams=(1.0, 10.0), maxiter=30)
    new = lrjax.robust_pca(m, low_rank=lrjax.LowRankProx(mcp, (1.0, 10.0)), maxiter=30)
    np.testing.assert_array_equal(old.low_rank, new.low_rank)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="`key` must be"):
        lrjax.robust_pca(jnp.ones((3, 3)), svt_rank=2)
    with pytest.warns(DeprecationWarning, match="without `svt_rank` they have no effect"):
        alone = lrjax.robust_pca(m, key=jax.random.key(0), maxiter=30)  # as before: ignored
    np.testing.assert_array_equal(alone.low_rank, lrjax.robust_pca(m, maxiter=30).low_rank)
    with pytest.raises(TypeError, match="pass `low_rank`"):
        lrjax.robust_pca(m, low_rank=lrjax.LowRankProx(mcp), svt_rank=3)


def _outlier_problem(seed):
    """40 x 30 rank 2 with 5 % outliers of up to 10x the data: Lin et al.'s growth rho = 1.5
    stopped away from the minimiser (the planted matrix) on these seeds, reporting converged."""
    g = np.random.default_rng(seed)
    low = g.standard_normal((40, 2)) @ g.standard_normal((2, 30))
    size = 10 * np.abs(low).max() * g.random(low.shape)
    sparse = np.where(g.random(low.shape) < 0.05, g.choice([-1, 1], low.shape) * size, 0)
    return low, sparse


@pytest.mark.parametrize("seed", [4, 17, 19])
def test_default_penalty_growth_reaches_the_minimiser_with_large_outliers(seed):
    low, sparse = _outlier_problem(seed)
    res = lrjax.robust_pca(jnp.asarray(low + sparse))
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-5
    assert _rel(res.sparse, sparse) < 1e-5


def test_missing_entries_are_completed_and_may_hold_nan(candes_problem):
    low, sparse = candes_problem
    obs = np.random.default_rng(7).random(low.shape) > 0.1  # 10 % missing
    m = np.where(obs, low + sparse, np.nan)
    res = lrjax.robust_pca(m, mask=obs)
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-5  # every entry, the missing ones included
    assert _rel(res.sparse, sparse * obs) < 1e-5
    assert not np.any(np.asarray(res.sparse)[~obs])
    # the unobserved values do not matter; an all-True mask is no mask; a 0/1 mask works
    again = lrjax.robust_pca(np.where(obs, low + sparse, 3.0), mask=obs.astype(np.int32))
    np.testing.assert_allclose(again.low_rank, res.low_rank, atol=1e-12)
    full = lrjax.robust_pca(low + sparse, mask=np.ones(low.shape, bool))
    np.testing.assert_array_equal(full.low_rank, lrjax.robust_pca(low + sparse).low_rank)


def test_tensorly_scenario_with_missing_values():
    """TensorLy's robust_pca test, as a matrix: 100 copies of two proportional rows, 5 % of
    entries +-100, then 5 % of entries missing (set to 1)."""
    sample = np.array([[1.0, 2, 3, 4], [2, 4, 6, 8]])
    clean = np.tile(sample.reshape(1, 8), (100, 1))
    g = np.random.default_rng(12345)
    noise = g.choice([0.0, 100.0, -100.0], size=clean.shape, p=[0.95, 0.025, 0.025])
    res = lrjax.robust_pca(clean + noise, lam=0.2, tol=1e-9)
    np.testing.assert_allclose(res.low_rank, clean, atol=1e-6)
    np.testing.assert_array_equal(np.abs(np.asarray(res.sparse)) > 0.01, noise != 0)
    obs = g.random(clean.shape) > 0.05
    data = np.where(obs, clean + noise, 1.0)
    # the minimiser with these entries missing is not exactly the clean matrix (its objective
    # is below the clean pair's): a slow growth (rho = 1.05) gets to it, within 0.2 of clean
    masked = lrjax.robust_pca(data, mask=obs, lam=0.2, rho=1.05, tol=1e-9)
    assert bool(masked.info.converged)
    fit = np.asarray(masked.low_rank + masked.sparse)
    np.testing.assert_allclose(fit * obs, data * obs, atol=1e-6)
    np.testing.assert_allclose(masked.low_rank, clean, atol=0.2)
    assert _rel(masked.low_rank, clean) < 0.005


def test_tensor_robust_pca_with_missing_entries_and_under_jit_vmap():
    rng = np.random.default_rng(1)
    n1, n2, n3, r = 20, 20, 6, 2
    a = np.fft.fft(rng.standard_normal((n1, r, n3)), axis=2)
    b = np.fft.fft(rng.standard_normal((r, n2, n3)), axis=2)
    low = np.real(np.fft.ifft(np.einsum("irk,rjk->ijk", a, b), axis=2)) / 10
    sparse = np.where(rng.random(low.shape) < 0.05, rng.choice([-1.0, 1.0], low.shape), 0.0)
    obs = rng.random(low.shape) > 0.1
    res = lrjax.tensor_robust_pca(np.where(obs, low + sparse, np.nan), mask=obs)
    assert bool(res.info.converged)
    assert _rel(res.low_rank, low) < 1e-5
    # masks are traced: vmap over two masks equals two calls
    masks = jnp.stack([jnp.asarray(obs), jnp.ones(low.shape, bool)])
    x = jnp.asarray(np.where(obs, low + sparse, 0.0))
    batched = jax.jit(jax.vmap(lambda w: lrjax.robust_pca(x[:, :, 0], mask=w[:, :, 0])))(masks)
    for i in range(2):
        single = lrjax.robust_pca(x[:, :, 0], mask=masks[i, :, :, 0])
        np.testing.assert_allclose(batched.low_rank[i], single.low_rank, atol=1e-9)


def test_mask_errors_name_the_argument():
    m = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"`mask` must have shape \(4, 3\)"):
        lrjax.robust_pca(m, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="`mask` must be boolean or 0/1"):
        lrjax.robust_pca(m, mask=np.full((4, 3), 2))
    with pytest.raises(ValueError, match="`mask` must select at least one entry"):
        lrjax.robust_pca(m, mask=np.zeros((4, 3), bool))
    with pytest.raises(ValueError, match=r"`m \(observed entries\)` must be finite"):
        lrjax.robust_pca(np.where(np.eye(4, 3) > 0, np.nan, 1.0), mask=np.ones((4, 3), bool))
    with pytest.raises(ValueError, match=r"`x \(observed entries\)` must be finite"):
        lrjax.tensor_robust_pca(np.full((3, 3, 2), np.inf), mask=np.ones((3, 3, 2), bool))
