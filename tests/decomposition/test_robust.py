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
