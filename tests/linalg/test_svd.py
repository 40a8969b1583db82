import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import linalg
from tests.conftest import directional_fd


def test_truncated_svd_matches_numpy(rng):
    a = rng.standard_normal((30, 20))
    u, s, vt = linalg.truncated_svd(jnp.asarray(a), 5)
    u_np, s_np, vt_np = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(np.asarray(s), s_np[:5], rtol=1e-12)
    best = (u_np[:, :5] * s_np[:5]) @ vt_np[:5]
    np.testing.assert_allclose(np.asarray((u * s) @ vt), best, atol=1e-11)
    # Sign rule: largest-magnitude entry of each column of u is positive.
    u = np.asarray(u)
    assert np.all(u[np.argmax(np.abs(u), axis=0), np.arange(5)] > 0)
    # Same vectors as NumPy's, up to that sign.
    np.testing.assert_allclose(np.abs(u), np.abs(u_np[:, :5]), atol=1e-10)


def test_truncated_svd_errors():
    with pytest.raises(ValueError, match="`rank` must be at most"):
        linalg.truncated_svd(jnp.ones((3, 4)), 4)
    with pytest.raises(ValueError, match="`rank` must be a positive int, got 0"):
        linalg.truncated_svd(jnp.ones((3, 4)), 0)
    with pytest.raises(ValueError, match="`a` must have 2 dimensions"):
        linalg.truncated_svd(jnp.ones((3, 4, 5)), 1)
    with pytest.raises(ValueError, match="`a` must be finite"):
        linalg.truncated_svd(jnp.array([[1.0, jnp.nan], [0.0, 1.0]]), 1)


def _halko_bound(sigma, k, p, q, m, n):
    """Halko et al. 2011, Thm. 10.6 / Cor. 10.10 expected spectral-norm bound."""
    tail = np.sqrt(np.sum(sigma[k:] ** 2))
    c = 1 + np.sqrt(k / (p - 1))
    gauss = c * sigma[k] ** (2 * q + 1) + np.e * np.sqrt(k + p) / p * tail ** (2 * q + 1)
    return gauss ** (1 / (2 * q + 1)) if q else c * sigma[k] + np.e * np.sqrt(k + p) / p * tail


@pytest.mark.parametrize("n_iter", [0, 2])
def test_randomized_svd_within_halko_bound(rng, n_iter):
    m, n, k, p = 200, 150, 10, 10
    u0 = np.linalg.qr(rng.standard_normal((m, n)))[0]
    v0 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    sigma = np.concatenate([np.linspace(10, 5, k), 0.5 * 0.9 ** np.arange(n - k)])
    a = (u0 * sigma) @ v0.T
    errs = []
    for seed in range(5):
        u, s, vt = linalg.randomized_svd(
            jnp.asarray(a), k, key=jax.random.key(seed), n_oversamples=p, n_iter=n_iter
        )
        errs.append(np.linalg.norm(a - (np.asarray(u) * np.asarray(s)) @ np.asarray(vt), 2))
    # Average over seeds against the expectation bound (the rank-k truncation of Q Q^T A
    # adds at most sigma_{k+1}, Halko et al. Sec. 9.4).
    assert np.mean(errs) <= _halko_bound(sigma, k, p, n_iter, m, n) + sigma[k]
    assert np.min(errs) >= sigma[k] * (1 - 1e-10)  # Eckart-Young: cannot beat the optimum
    u = np.asarray(u)
    np.testing.assert_allclose(u.T @ u, np.eye(k), atol=1e-10)


def test_randomized_svd_exact_on_low_rank_even_when_rank_deficient(rng):
    a = rng.standard_normal((80, 5)) @ rng.standard_normal((5, 60))
    # Sketch width 15 > rank 5: the Gram factorization sees dependent columns.
    u, s, vt = linalg.randomized_svd(jnp.asarray(a), 5, key=jax.random.key(0), n_iter=1)
    np.testing.assert_allclose(np.asarray((u * s) @ vt), a, atol=1e-9 * np.abs(a).max())
    np.testing.assert_allclose(np.asarray(s), np.linalg.svd(a, compute_uv=False)[:5], rtol=1e-10)


def test_randomized_svd_float32(rng):
    a = (rng.standard_normal((60, 4)) @ rng.standard_normal((4, 50))).astype(np.float32)
    u, s, vt = linalg.randomized_svd(jnp.asarray(a), 4, key=jax.random.key(0))
    assert u.dtype == jnp.float32
    rel = np.linalg.norm(a - np.asarray((u * s) @ vt)) / np.linalg.norm(a)
    assert rel < 1e-5


def test_orthonormalize_drops_dependent_columns(rng):
    y = rng.standard_normal((50, 3))
    y = np.concatenate([y, y[:, :1] + y[:, 1:2], rng.standard_normal((50, 1))], axis=1)
    q = np.asarray(linalg.orthonormalize(jnp.asarray(y)))
    kept = np.linalg.norm(q, axis=0) > 0.5
    assert kept.tolist() == [True, True, True, False, True]
    np.testing.assert_allclose(q[:, kept].T @ q[:, kept], np.eye(4), atol=1e-12)
    # Same span as the input.
    proj = q @ q.T @ y
    np.testing.assert_allclose(proj, y, atol=1e-10)


def test_orthonormalize_rows_is_orthonormalize_transposed(rng):
    from lrjax.linalg._small import orthonormalize_rows

    y = rng.standard_normal((40, 4))
    y = np.concatenate([y, y[:, :1] - y[:, 2:3]], axis=1)  # one dependent column
    rows = np.asarray(orthonormalize_rows(jnp.asarray(y.T)))
    np.testing.assert_allclose(
        rows.T, np.asarray(linalg.orthonormalize(jnp.asarray(y))), atol=1e-12
    )
    assert np.linalg.norm(rows[-1]) == 0.0


def test_spd_inverse_and_its_derivative(rng):
    b = rng.standard_normal((6, 6))
    a = b @ b.T + 6 * np.eye(6)
    np.testing.assert_allclose(
        np.asarray(linalg.spd_inverse(jnp.asarray(a))), np.linalg.inv(a), rtol=1e-10
    )
    d = rng.standard_normal((6, 6))
    d = d + d.T
    w = rng.standard_normal((6, 6))
    f = lambda a: jnp.sum(w * linalg.spd_inverse(a))
    g = jax.grad(f)(jnp.asarray(a))
    fd = directional_fd(lambda t: float(f(jnp.asarray(t))), a, d)
    np.testing.assert_allclose(float(jnp.sum(g * d)), fd, rtol=1e-6)


def test_svd_flip_keeps_product(rng):
    a = rng.standard_normal((5, 4))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    uf, vtf = linalg.svd_flip(jnp.asarray(u), jnp.asarray(vt))
    np.testing.assert_allclose(np.asarray((uf * s) @ vtf), a, atol=1e-12)


@pytest.mark.parametrize("shape", [(30, 12), (12, 30)])
def test_leading_left_singular_vectors_match_numpy(rng, shape):
    a = rng.standard_normal(shape)
    u = np.asarray(linalg.leading_left_singular_vectors(jnp.asarray(a), 4))
    u_np = np.linalg.svd(a, full_matrices=False)[0][:, :4]
    np.testing.assert_allclose(np.abs(u), np.abs(u_np), atol=1e-10)
    assert np.all(u[np.argmax(np.abs(u), axis=0), np.arange(4)] > 0)


@pytest.mark.parametrize("shape", [(30, 12), (12, 30)])
def test_leading_left_singular_vectors_nonfinite_gives_nan(rng, shape):
    f = jax.jit(lambda m: linalg.leading_left_singular_vectors(m, 3))
    a = rng.standard_normal(shape)
    for bad in (np.nan, np.inf, -np.inf):
        b = a.copy()
        b[2, 3] = bad
        assert np.all(np.isnan(np.asarray(f(jnp.asarray(b)))))
    # large finite entries: the same vectors as the unscaled matrix
    np.testing.assert_allclose(f(jnp.asarray(a * 1e150)), f(jnp.asarray(a)), atol=1e-10)


def test_leading_left_singular_vectors_zero_matrix_is_completed():
    u = np.asarray(linalg.leading_left_singular_vectors(jnp.zeros((9, 4)), 3))
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
