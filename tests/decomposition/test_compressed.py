"""Matrix NMF (against scikit-learn's coordinate-descent NMF and planted factors) and the
compressed factorization of Sharan et al. (planted sparse factors seen through a sparse
non-negative compression)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax

sklearn_nmf = pytest.importorskip("sklearn.decomposition").NMF


def _planted(d=200, n=120, r=5, density=0.03, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, (d, r)) * (rng.uniform(size=(d, r)) < density)
    w[rng.integers(0, d, r), np.arange(r)] = 1.0  # no empty column
    h = rng.uniform(size=(r, n))
    return w, h


def _sparse_nonneg_p(dc, d, nnz=4, seed=1):
    rng = np.random.default_rng(seed)
    p = np.zeros((dc, d))
    for j in range(d):
        p[rng.choice(dc, nnz, replace=False), j] = 1 / np.sqrt(nnz)
    return p


def test_nmf_recovers_a_planted_factorization():
    w, h = _planted()
    res = lrjax.nmf(jnp.asarray(w @ h), 5, key=jax.random.key(0), maxiter=1000, tol=1e-12)
    assert float(res.info.error) < 1e-3
    assert res.w.shape == (200, 5) and res.h.shape == (5, 120)
    assert float(jnp.min(res.w)) >= 0 and float(jnp.min(res.h)) >= 0
    np.testing.assert_allclose(res.w @ res.h, w @ h, atol=1e-2 * np.abs(w @ h).max())


@pytest.mark.filterwarnings("ignore:Maximum number of iterations")
def test_nmf_matches_scikit_learn_objective():
    rng = np.random.default_rng(3)
    m = rng.uniform(size=(60, 8)) @ rng.uniform(size=(8, 50)) + 0.05 * rng.uniform(size=(60, 50))
    res = lrjax.nmf(jnp.asarray(m), 4, key=jax.random.key(1), maxiter=2000, tol=1e-12)
    sk = sklearn_nmf(4, init="random", solver="cd", max_iter=2000, tol=1e-10, random_state=0)
    w = sk.fit_transform(m)
    ref = np.linalg.norm(m - w @ sk.components_) / np.linalg.norm(m)
    assert float(res.info.error) <= ref * 1.02


def test_nmf_rejects_negative_data_naming_it():
    with pytest.raises(ValueError, match="`m` must be non-negative"):
        lrjax.nmf(-jnp.ones((4, 3)), 2, key=jax.random.key(0))


def test_compressed_factorization_recovers_the_uncompressed_model():
    w, h = _planted()
    m = w @ h
    p = _sparse_nonneg_p(100, 200)  # 2x compression
    out = lrjax.compressed_factorization(
        jnp.asarray(p @ m), jnp.asarray(p), 5, key=jax.random.key(2), reg=1e-4,
        recovery_iters=2000, maxiter=1000, tol=1e-12,
    )  # fmt: skip
    assert out.w.shape == (200, 5) and out.h.shape == (5, 120)
    assert out.w_compressed.shape == (100, 5)
    assert float(out.info.error) < 1e-3 and float(out.recovery_residual) < 1e-2
    rel = np.linalg.norm(m - np.asarray(out.w) @ np.asarray(out.h)) / np.linalg.norm(m)
    assert rel < 2e-2
    assert float(jnp.min(out.w)) >= 0


def test_compressed_factorization_bad_input():
    y, p = jnp.ones((4, 6)), jnp.ones((4, 9))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="`p`"):
        lrjax.compressed_factorization(y, jnp.ones((5, 9)), 2, key=key)
    with pytest.raises(ValueError, match="`reg`"):
        lrjax.compressed_factorization(y, p, 2, key=key, reg=1.5)
    with pytest.raises(ValueError, match="`method`"):
        lrjax.compressed_factorization(y, p, 2, key=key, method="svd")
    with pytest.raises(ValueError, match="`y` must be non-negative"):
        lrjax.compressed_factorization(-y, p, 2, key=key)
    with pytest.raises(ValueError, match="`recovery_iters`"):
        lrjax.compressed_factorization(y, p, 2, key=key, recovery_iters=0)


def test_sparse_pca_without_penalty_is_the_truncated_svd():
    m = np.random.default_rng(5).standard_normal((30, 20))
    res = lrjax.sparse_pca(jnp.asarray(m), 3, reg=0.0)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    np.testing.assert_allclose(res.w @ res.h, (u[:, :3] * s[:3]) @ vt[:3], atol=1e-10)
    np.testing.assert_allclose(res.h @ res.h.T, np.eye(3), atol=1e-12)


def test_sparse_pca_finds_planted_sparse_loadings():
    rng = np.random.default_rng(6)
    w = np.zeros((120, 3))
    for r in range(3):
        w[rng.choice(120, 6, replace=False), r] = rng.choice([-3.0, 3.0], 6)
    h = np.linalg.qr(rng.standard_normal((80, 3)))[0].T
    m = w @ h + 0.01 * rng.standard_normal((120, 80))
    res = lrjax.sparse_pca(jnp.asarray(m), 3, reg=0.05)
    support = np.abs(np.asarray(res.w)) > 0
    np.testing.assert_array_equal(support.any(axis=1), (w != 0).any(axis=1))
    assert float(res.info.error) < 0.15  # the l1 penalty shrinks the kept loadings


def test_compressed_sparse_pca_recovers_the_model_at_2x():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((200, 3)) * (rng.uniform(size=(200, 3)) < 0.03)
    w[rng.integers(0, 200, 3), np.arange(3)] = 3.0
    h = np.linalg.qr(rng.standard_normal((100, 3)))[0].T
    m = w @ h
    p = rng.standard_normal((100, 200)) / 10.0
    out = lrjax.compressed_factorization(
        jnp.asarray(p @ m), jnp.asarray(p), 3, key=jax.random.key(0), method="sparse_pca",
        reg=1e-4, recovery_iters=3000,
    )  # fmt: skip
    rel = np.linalg.norm(m - np.asarray(out.w) @ np.asarray(out.h)) / np.linalg.norm(m)
    assert rel < 0.02
    hist = np.asarray(out.info.history)  # one SVD: one entry, the rest NaN as for any solver
    assert int(out.info.n_iter) == 1 and np.isfinite(hist[0]) and np.all(np.isnan(hist[1:]))


def test_sparse_pca_bad_input():
    with pytest.raises(ValueError, match="`rank`"):
        lrjax.sparse_pca(jnp.ones((4, 3)), 4)
    with pytest.raises(ValueError, match="`reg`"):
        lrjax.sparse_pca(jnp.ones((4, 3)), 2, reg=-1.0)


def test_a_sketch_as_p_gives_the_dense_result():
    """``p`` as a sparse sketch (applied without forming it) matches the same ``P`` dense."""
    from lrjax import linalg

    w, h = _planted()
    m = w @ h
    s = linalg.sparse_sign_sketch(jax.random.key(3), 100, 200, nnz=4)
    sketch = linalg.SparseSignSketch(s.rows, jnp.abs(s.values), s.m)  # non-negative P
    dense = np.asarray(sketch.to_dense())
    opts = dict(key=jax.random.key(2), reg=1e-4, recovery_iters=300, maxiter=200)
    y = jnp.asarray(dense @ m)
    a = lrjax.compressed_factorization(y, sketch, 5, **opts)
    b = lrjax.compressed_factorization(y, jnp.asarray(dense), 5, **opts)
    np.testing.assert_allclose(a.w, b.w, atol=1e-8)
    np.testing.assert_allclose(a.h, b.h, atol=1e-8)
