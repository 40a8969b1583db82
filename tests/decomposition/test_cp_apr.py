"""cp_apr: planted Poisson counts (the maximum-likelihood property, the factors, the KKT
conditions of Chi & Kolda), against least-squares CP, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.decomposition import poisson_nll


def _planted(seed=0, shape=(30, 25, 20), totals=(3000.0, 2000.0, 1000.0)):
    rng = np.random.default_rng(seed)
    factors = [rng.gamma(0.5, size=(n, len(totals))) for n in shape]
    factors = [f / f.sum(axis=0) for f in factors]
    rates = np.einsum("r,ir,jr,kr->ijk", np.asarray(totals), *factors)
    return rng.poisson(rates).astype(float), rates, factors


def _congruence(a, b):
    a, b = a / np.linalg.norm(a, axis=0), b / np.linalg.norm(b, axis=0)
    return np.abs(a.T @ b)


def test_recovers_planted_poisson_factors_with_at_least_the_truths_likelihood():
    x, rates, factors = _planted()
    res = lrjax.cp_apr(jnp.asarray(x), 3, key=jax.random.key(0), maxiter=300, tol=1e-9)
    fit = np.asarray(res.cp.to_dense())
    # a maximum-likelihood fit: no worse than the true rates on the data they generated
    assert float(poisson_nll(jnp.asarray(x), jnp.asarray(fit))) <= float(
        poisson_nll(jnp.asarray(x), jnp.asarray(rates))
    )
    np.testing.assert_allclose(float(res.cp.weights.sum()), x.sum(), rtol=1e-6)
    for got, true in zip(res.cp.factors, factors, strict=True):
        assert np.all(np.asarray(got) >= 0)
        np.testing.assert_allclose(np.asarray(got).sum(axis=0), 1.0, atol=1e-9)
        assert np.all(_congruence(np.asarray(got), true).max(axis=0) > 0.97)
    # KKT of Chi & Kolda: with B = A_n diag(λ), Φ = (X_(n) ⊘ M_(n)) Π ≤ 1 and = 1 where B > 0
    a = [np.asarray(f) for f in res.cp.factors]
    lam = np.asarray(res.cp.weights)
    for n in range(3):
        others = [a[m] for m in range(3) if m != n]
        pi = np.asarray(lrjax.linalg.khatri_rao([jnp.asarray(o) for o in others]))
        xn = np.moveaxis(x, n, 0).reshape(x.shape[n], -1)
        phi = (xn / ((a[n] * lam) @ pi.T)) @ pi
        assert np.max(np.minimum(a[n] * lam, 1.0 - phi)) < 1e-3


def test_poisson_fit_beats_least_squares_on_sparse_counts():
    x, rates, _ = _planted(seed=1, totals=(400.0, 300.0, 200.0))  # mostly zeros
    apr = lrjax.cp_apr(jnp.asarray(x), 3, key=jax.random.key(0), maxiter=300)
    als = lrjax.cp_als(jnp.asarray(x), 3, key=jax.random.key(0), maxiter=300)
    err = lambda m: np.linalg.norm(np.asarray(m) - rates) / np.linalg.norm(rates)
    assert err(apr.cp.to_dense()) < err(als.cp.to_dense())  # closer to the true rates
    assert float(jnp.min(als.cp.to_dense())) < 0.0 <= float(jnp.min(apr.cp.to_dense()))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="non-negative"):
        lrjax.cp_apr(-jnp.ones((3, 3, 3)), 2, key=jax.random.key(0))
