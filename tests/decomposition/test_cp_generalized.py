"""cp_generalized (GCP) on planted problems of each distribution: the fit's mean loss is at
most the planted model's own (it maximises the likelihood over a set that holds the truth),
the model recovers the planted one, and the robust and masked variants do what they claim.
(The anchor, the Tensor Toolbox's gcp_opt, is MATLAB: planted solutions are the oracle.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax

SHAPE = (12, 10, 8)


def _factors(rng, rank, draw):
    return [draw((n, rank)) for n in SHAPE]


def _cp(factors):
    return np.einsum("ir,jr,kr->ijk", *factors)


def _mean_loss(loss, x, factors, param=1.0):
    """The objective at given factors, written out independently of the library."""
    m = _cp(factors)
    eps = 1e-10
    f = {
        "poisson": lambda: m - x * np.log(m + eps),
        "bernoulli-logit": lambda: np.logaddexp(0.0, m) - x * m,
        "gamma": lambda: x / (m + eps) + np.log(m + eps),
        "rayleigh": lambda: 2 * np.log(m + eps) + np.pi / 4 * (x / (m + eps)) ** 2,
        "poisson-log": lambda: np.exp(m) - x * m,
    }[loss]()
    return float(np.mean(f))


def _fitted(res):
    cp = res.cp
    return [np.asarray(f) for f in cp.factors[:-1]] + [
        np.asarray(cp.factors[-1]) * np.asarray(cp.weights)
    ]


@pytest.mark.parametrize("loss", ["poisson", "bernoulli-logit", "gamma", "rayleigh", "poisson-log"])
def test_fit_is_at_least_as_likely_as_the_planted_model(loss):
    rng = np.random.default_rng(0)
    if loss in ("bernoulli-logit", "poisson-log"):
        scale = 1.5 if loss == "bernoulli-logit" else 0.9
        truth = _factors(rng, 2, lambda s: scale * rng.standard_normal(s))
        eta = _cp(truth)
        x = (
            (rng.random(eta.shape) < 1 / (1 + np.exp(-eta)))
            if loss == "bernoulli-logit"
            else (rng.poisson(np.exp(eta)))
        )
    else:
        truth = _factors(rng, 2, lambda s: rng.gamma(2.0, 1.0, s))
        m = _cp(truth)
        x = {
            "poisson": lambda: rng.poisson(m),
            "gamma": lambda: m * rng.gamma(5.0, 0.2, m.shape),
            "rayleigh": lambda: m * rng.rayleigh(1.0, m.shape) / np.sqrt(np.pi / 2),
        }[loss]()
    x = np.asarray(x, float)
    res = lrjax.cp_generalized(x, 2, loss=loss, key=jax.random.key(0), maxiter=3000)
    fit = _fitted(res)
    np.testing.assert_allclose(float(res.info.error), _mean_loss(loss, x, fit), rtol=1e-10)
    assert float(res.info.error) <= _mean_loss(loss, x, truth)
    if loss in ("poisson", "gamma", "rayleigh"):
        assert all(np.all(f >= 0) for f in fit)
        assert np.linalg.norm(_cp(fit) - _cp(truth)) < 0.25 * np.linalg.norm(_cp(truth))
    elif loss == "poisson-log":  # the log-rate is recovered
        assert np.corrcoef(_cp(fit).ravel(), _cp(truth).ravel())[0, 1] > 0.9
    else:  # the probabilities are; the logits of near-separable entries grow without bound
        prob = lambda eta: 1 / (1 + np.exp(-eta))
        assert np.corrcoef(prob(_cp(fit)).ravel(), prob(_cp(truth)).ravel())[0, 1] > 0.85


def test_huber_resists_outliers_that_pull_least_squares():
    rng = np.random.default_rng(1)
    clean = _cp(_factors(rng, 2, rng.standard_normal))
    x = clean.copy()
    spikes = rng.random(x.shape) < 0.03
    x[spikes] += 30.0 * np.sign(rng.standard_normal(spikes.sum()))
    norm = np.linalg.norm(clean)
    huber = lrjax.cp_generalized(x, 2, loss="huber", param=0.5, key=jax.random.key(0))
    normal = lrjax.cp_generalized(x, 2, loss="normal", key=jax.random.key(0))
    err = lambda r: np.linalg.norm(np.asarray(r.cp.to_dense()) - clean) / norm
    assert err(huber) < 0.05 < err(normal)


def test_normal_loss_is_least_squares_and_the_mask_leaves_entries_out():
    rng = np.random.default_rng(2)
    x = _cp(_factors(rng, 2, rng.standard_normal))
    res = lrjax.cp_generalized(x, 2, key=jax.random.key(0), tol=1e-16, maxiter=3000)
    assert float(res.info.error) < 1e-10  # an exact rank-2 tensor: zero mean squared error
    mask = (rng.random(x.shape) > 0.3).astype(float)
    corrupted = np.where(mask > 0, x, 1e3)  # what hides behind the mask never enters the fit
    masked = lrjax.cp_generalized(
        corrupted, 2, mask=mask, key=jax.random.key(0), tol=1e-16, maxiter=3000
    )
    np.testing.assert_allclose(masked.cp.to_dense(), x, atol=1e-4 * np.abs(x).max())


def test_a_loss_function_equals_the_named_loss_from_the_same_start():
    rng = np.random.default_rng(3)
    x = rng.poisson(_cp(_factors(rng, 2, lambda s: rng.gamma(2.0, 1.0, s)))).astype(float)
    start = tuple(jnp.asarray(rng.uniform(0.5, 1.5, (n, 2))) for n in SHAPE)
    named = lrjax.cp_generalized(x, 2, loss="poisson", init=start, maxiter=200)
    own = lrjax.cp_generalized(
        x, 2, loss=lambda x, m, p: m - x * jnp.log(m + 1e-10), nonneg=True, init=start,
        maxiter=200,
    )  # fmt: skip
    np.testing.assert_allclose(own.cp.to_dense(), named.cp.to_dense(), rtol=1e-10)


def test_errors_are_named():
    x = np.ones((3, 4, 5))
    with pytest.raises(ValueError, match="`loss`"):
        lrjax.cp_generalized(x, 2, loss="cauchy", key=jax.random.key(0))
    with pytest.raises(ValueError, match="non-negative counts"):
        lrjax.cp_generalized(-x, 2, loss="poisson", key=jax.random.key(0))
    with pytest.raises(ValueError, match="only 0 and 1"):
        lrjax.cp_generalized(2 * x, 2, loss="bernoulli-logit", key=jax.random.key(0))
    with pytest.raises(ValueError, match="positive"):
        lrjax.cp_generalized(0 * x, 2, loss="gamma", key=jax.random.key(0))
    with pytest.raises(ValueError, match="`mask`"):
        lrjax.cp_generalized(x, 2, mask=np.ones((3, 4)), key=jax.random.key(0))
    with pytest.raises(ValueError, match="`init`"):
        lrjax.cp_generalized(x, 2, init=(np.ones((3, 2)),) * 3)
    with pytest.raises(ValueError, match="`nonneg`"):
        lrjax.cp_generalized(x, 2, nonneg=1, key=jax.random.key(0))
