"""Matrix completion and weighted low-rank approximation against planted problems and the
truncated SVD."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax


def _planted(n, rank, seed, frac=None, n_samples=None):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, n))
    if n_samples is not None:
        mask = np.zeros(n * n, bool)
        mask[rng.choice(n * n, n_samples, replace=False)] = True
        mask = mask.reshape(n, n)
    else:
        mask = rng.random((n, n)) < frac
    return m, mask


def test_svt_completion_from_cai_candes_shen_sample_size():
    n, r = 100, 5
    m, mask = _planted(n, r, seed=0, n_samples=6 * r * (2 * n - r))  # Cai et al., Table 5.1
    res = lrjax.complete_matrix(jnp.asarray(m), jnp.asarray(mask))
    assert bool(res.info.converged)
    assert np.linalg.norm(np.asarray(res.matrix) - m) / np.linalg.norm(m) < 1e-3


def test_soft_impute_completion_and_fixed_point():
    m, mask = _planted(60, 3, seed=1, frac=0.5)
    lam = 3e-3 * np.linalg.norm(m * mask, 2)  # the estimate's bias is of order lam
    res = lrjax.complete_matrix(
        jnp.asarray(m),
        jnp.asarray(mask),
        method=lrjax.SoftImpute(lam=lam),
        tol=1e-10,
        maxiter=5000,
    )
    z = np.asarray(res.matrix)
    assert bool(res.info.converged)
    assert np.linalg.norm(z - m) / np.linalg.norm(m) < 1e-2
    # Optimality of min 0.5||P(M - Z)||^2 + lam ||Z||_*: Z = SVT(P(M) + P_perp(Z), lam).
    again = np.asarray(lrjax.prox.prox_nuclear(jnp.asarray(m * mask + (1 - mask) * z), lam))
    np.testing.assert_allclose(again, z, atol=1e-6 * np.abs(z).max())


def test_completion_errors():
    with pytest.raises(ValueError, match="same shape"):
        lrjax.complete_matrix(jnp.ones((3, 3)), jnp.ones((3, 2), bool))
    with pytest.raises(ValueError, match="at least one entry"):
        lrjax.complete_matrix(jnp.ones((3, 3)), jnp.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="`method` must be one of"):
        lrjax.complete_matrix(jnp.ones((3, 3)), jnp.ones((3, 3), bool), method="x")
    with pytest.raises(ValueError, match="`low_rank_prox` must be callable or None, got 3"):
        lrjax.complete_matrix(jnp.ones((3, 3)), jnp.ones((3, 3), bool), low_rank_prox=3)


@pytest.mark.parametrize("method", [lrjax.CompletionSVT(), lrjax.SoftImpute(lam=0.5)])
def test_default_step_equals_the_svd_prox(method):
    """The default SVT step (through the Gram matrix in float64) gives prox_nuclear's
    completion: the same iterations, the same matrix to far below the tolerance."""
    m, mask = _planted(40, 3, seed=2, frac=0.6)
    args = (jnp.asarray(m), jnp.asarray(mask))
    ours = lrjax.complete_matrix(*args, method=method, tol=1e-8, maxiter=300)
    svd = lrjax.complete_matrix(
        *args, method=method, tol=1e-8, maxiter=300, low_rank_prox=lrjax.prox.prox_nuclear
    )
    assert int(ours.info.n_iter) == int(svd.info.n_iter)
    np.testing.assert_allclose(ours.matrix, svd.matrix, atol=1e-10 * np.abs(m).max())


@pytest.mark.parametrize("method", ["als", "em"])
def test_wlra_all_ones_weights_is_truncated_svd(method):
    rng = np.random.default_rng(2)
    m = rng.standard_normal((30, 20))
    res = lrjax.wlra(jnp.asarray(m), jnp.ones((30, 20)), 4, method=method)
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    np.testing.assert_allclose(
        np.asarray(res.approx.to_dense()), (u[:, :4] * s[:4]) @ vt[:4], atol=1e-10
    )
    np.testing.assert_allclose(np.asarray(res.approx.s), s[:4], rtol=1e-10)


@pytest.mark.parametrize("method", ["als", "em"])
def test_wlra_binary_weights_complete_a_planted_matrix(method):
    m, mask = _planted(30, 3, seed=3, frac=0.6)
    w = mask.astype(float)
    res = lrjax.wlra(jnp.asarray(m * w), jnp.asarray(w), 3, method=method, maxiter=3000, tol=1e-15)
    assert np.linalg.norm(np.asarray(res.approx.to_dense()) - m) / np.linalg.norm(m) < 1e-8


def test_wlra_regularized_solution_is_stationary():
    rng = np.random.default_rng(4)
    m = rng.standard_normal((12, 9))
    w = rng.random((12, 9))
    lam = 0.3
    res = lrjax.wlra(jnp.asarray(m), jnp.asarray(w), 3, reg=lam, tol=1e-15, maxiter=5000)
    a = res.approx
    u = np.asarray(a.u * jnp.sqrt(a.s))
    v = np.asarray(a.vt.T * jnp.sqrt(a.s))
    # At a regularized optimum the factors are balanced and the gradient vanishes.
    r = w * (u @ v.T - m)
    np.testing.assert_allclose(r @ v + lam * u, 0.0, atol=1e-7)
    np.testing.assert_allclose(r.T @ u + lam * v, 0.0, atol=1e-7)


def test_wlra_errors():
    with pytest.raises(ValueError, match="`weights` must have the shape"):
        lrjax.wlra(jnp.ones((3, 4)), jnp.ones((4, 3)), 1)
    with pytest.raises(ValueError, match="`weights` must be non-negative"):
        lrjax.wlra(jnp.ones((3, 4)), -jnp.ones((3, 4)), 1)
    with pytest.raises(ValueError, match="`rank` must be at most"):
        lrjax.wlra(jnp.ones((3, 4)), jnp.ones((3, 4)), 4)
    with pytest.raises(ValueError, match="`reg` must be 0 with method='em'"):
        lrjax.wlra(jnp.ones((3, 4)), jnp.ones((3, 4)), 1, method="em", reg=1.0)


@pytest.mark.parametrize("randomized", [False, True])
def test_frequent_directions_error_bound(randomized):
    rng = np.random.default_rng(5)
    a = 3 * rng.standard_normal((400, 5)) @ rng.standard_normal((5, 40))
    a = a + rng.standard_normal((400, 40))
    sketch = 10
    key = jax.random.key(0) if randomized else None
    b = np.asarray(lrjax.frequent_directions(jnp.asarray(a), sketch, key=key))
    assert b.shape == (sketch, 40)
    gap = a.T @ a - b.T @ b
    assert np.linalg.eigvalsh(gap).min() > -1e-8 * np.linalg.norm(a) ** 2  # B^T B <= A^T A
    s = np.linalg.svd(a, compute_uv=False)
    err = np.linalg.norm(gap, 2)
    for k in range(sketch):
        assert err <= np.sum(s[k:] ** 2) / (sketch - k) * (1 + 1e-9)


def test_frequent_directions_streaming_equals_one_shot():
    rng = np.random.default_rng(6)
    a = jnp.asarray(rng.standard_normal((95, 12)))
    state = lrjax.linalg.fd_init(12, 4, a.dtype)
    for start in range(0, 95, 20):
        state = lrjax.linalg.fd_update(state, a[start : start + 20])
    streamed = np.asarray(lrjax.linalg.fd_finalize(state))
    gap = np.asarray(a.T @ a) - streamed.T @ streamed
    s = np.linalg.svd(np.asarray(a), compute_uv=False)
    assert np.linalg.norm(gap, 2) <= np.sum(s**2) / 4 * (1 + 1e-9)
    with pytest.raises(ValueError, match="`rows` must have shape"):
        lrjax.linalg.fd_update(state, jnp.ones((3, 5)))


def test_frequent_directions_inside_a_users_scan():
    rng = np.random.default_rng(7)
    a = jnp.asarray(rng.standard_normal((6, 10, 8)))  # 6 blocks of 10 rows

    def body(state, block):
        return lrjax.linalg.fd_update(state, block), None

    state, _ = jax.lax.scan(body, lrjax.linalg.fd_init(8, 3, a.dtype), a)
    b = np.asarray(lrjax.linalg.fd_finalize(state))
    flat = np.asarray(a).reshape(60, 8)
    s = np.linalg.svd(flat, compute_uv=False)
    gap = np.linalg.norm(flat.T @ flat - b.T @ b, 2)
    assert gap <= np.sum(s[1:] ** 2) / 2 * (1 + 1e-9)  # k = 1, l = 3


def test_method_objects_and_deprecated_keywords():
    m, mask = _planted(30, 2, seed=3, frac=0.6)
    m, mask = jnp.asarray(m), jnp.asarray(mask)
    new = lrjax.complete_matrix(m, mask, method=lrjax.CompletionSVT(tau=50.0), maxiter=20)
    with pytest.warns(DeprecationWarning, match=r"method=CompletionSVT\(tau=...\)"):
        old = lrjax.complete_matrix(m, mask, tau=50.0, maxiter=20)
    np.testing.assert_array_equal(old.matrix, new.matrix)
    with pytest.warns(DeprecationWarning):
        old = lrjax.complete_matrix(m, mask, method="soft_impute", lam=0.1, maxiter=20)
    new = lrjax.complete_matrix(m, mask, method=lrjax.SoftImpute(0.1), maxiter=20)
    np.testing.assert_array_equal(old.matrix, new.matrix)
    with pytest.raises(ValueError, match=r"`lam` is not a parameter of CompletionSVT"):
        lrjax.complete_matrix(m, mask, lam=0.1)
    with pytest.raises(ValueError, match=r"`method.tau` must be positive"):
        lrjax.complete_matrix(m, mask, method=lrjax.CompletionSVT(tau=-1.0))
