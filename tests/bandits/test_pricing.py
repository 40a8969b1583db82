"""Low-rank dynamic pricing: the model against NumPy, the best fixed price against SciPy, and
the paper's qualitative claims on planted instances (seeds vmapped)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from lrjax import bandits

KEY = jax.random.key(0)


def _problem(n=8, d=2, horizon=200, **kw):
    return bandits.pricing_problem(KEY, n_products=n, rank=d, horizon=horizon, **kw)


def test_instance_is_low_rank_and_concave():
    prob = _problem(n=12, d=3)
    u = np.asarray(prob.u)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
    for v in np.asarray(prob.v)[:20]:
        assert np.linalg.eigvalsh(v + v.T).min() > 0


def test_round_revenue_is_price_times_expected_demand():
    prob = _problem(n=7, d=2)
    p = np.random.default_rng(0).standard_normal(7) * 0.3
    u, z, v = (np.asarray(a) for a in (prob.u, prob.z, prob.v))
    t = 5
    demand = u @ z[t] - u @ v[t] @ u.T @ p
    np.testing.assert_allclose(float(bandits.round_revenue(prob, u.T @ p, t)), p @ demand)


@pytest.mark.parametrize("radius", [10.0, 0.2])
def test_best_fixed_price_matches_scipy(radius):
    prob = _problem(n=6, d=3, radius=radius)
    u, z, v = (np.asarray(a) for a in (prob.u, prob.z, prob.v))

    def neg(x):
        return -(x @ z.sum(0) - x @ v.sum(0) @ x)

    cons = {"type": "ineq", "fun": lambda x: radius**2 - x @ x}
    ref = minimize(neg, np.zeros(3), constraints=[cons], method="SLSQP", tol=1e-14).x
    got = np.asarray(bandits.best_fixed_price(prob))
    np.testing.assert_allclose(u.T @ got, ref, atol=1e-6)
    assert np.linalg.norm(got) <= radius * (1 + 1e-9)


def test_opok_regret_is_sublinear():
    """With the step sizes tuned to the horizon, the average regret falls as T grows (the
    bound is O(T^(3/4)), so by about T^(-1/4)) and stays well below pricing at zero."""
    average = {}
    for horizon in (500, 8000):
        prob = _problem(n=20, d=2, horizon=horizon)
        keys = jax.random.split(jax.random.key(3), 4)
        res = jax.vmap(lambda k, p=prob: bandits.dynamic_pricing(p, k, method="opok"))(keys)
        average[horizon] = float(jnp.mean(res.regret[:, -1])) / horizon
        best = prob.u.T @ bandits.best_fixed_price(prob)
        per_round = float(
            jnp.mean(
                jax.vmap(lambda t, p=prob, b=best: bandits.round_revenue(p, b, t))(
                    jnp.arange(horizon)
                )
            )
        )
        assert average[horizon] < 0.5 * per_round  # better than posting price zero
    assert average[8000] < 0.9 * average[500]


def _final_regret(n, d, method, horizon=1500, seeds=4):
    prob = bandits.pricing_problem(jax.random.key(1), n_products=n, rank=d, horizon=horizon)
    keys = jax.random.split(jax.random.key(2), seeds)
    # the problem is an argument of the vmapped call, not a constant baked into its program
    run = jax.vmap(lambda k, p: bandits.dynamic_pricing(p, k, method=method), in_axes=(0, None))
    return float(jnp.mean(run(keys, prob).regret[:, -1]))


def test_paper_claims_regret_grows_with_rank_not_products():
    opok = {(n, d): _final_regret(n, d, "opok") for n in (10, 200) for d in (2, 6)}
    gdg = {n: _final_regret(n, 2, "gdg") for n in (10, 200)}
    opol = _final_regret(200, 2, "opol")
    assert abs(opok[200, 2] / opok[10, 2] - 1) < 0.2  # not with N
    assert opok[10, 6] > 1.3 * opok[10, 2] and opok[200, 6] > 1.3 * opok[200, 2]  # with d
    assert gdg[200] > 1.5 * gdg[10]  # GDG's grows with N
    assert opok[200, 2] < 0.7 * gdg[200] and opol < 0.7 * gdg[200]  # both beat GDG


def test_opol_learns_the_span():
    prob = _problem(n=50, d=3, horizon=1500)
    res = bandits.dynamic_pricing(prob, KEY, method="opol")
    basis, u = np.asarray(res.basis), np.asarray(prob.u)
    np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-8)
    assert np.linalg.norm(u - basis @ (basis.T @ u), 2) < 0.2


def test_vmap_over_instances_matches_loop():
    keys = jax.random.split(KEY, 3)
    probs = jax.vmap(lambda k: bandits.pricing_problem(k, n_products=6, rank=2, horizon=50))(keys)
    batched = jax.vmap(lambda p: bandits.dynamic_pricing(p, KEY, method="opok"))(probs)
    for i in range(3):
        one = bandits.dynamic_pricing(jax.tree.map(lambda a, i=i: a[i], probs), KEY, method="opok")
        np.testing.assert_allclose(batched.regret[i], one.regret, rtol=1e-9, atol=1e-9)


def test_gradient_of_revenue_matches_finite_difference():
    prob = _problem(n=6, d=2, horizon=60)

    def total(shift):
        p = prob._replace(z=prob.z + shift)
        return jnp.sum(bandits.dynamic_pricing(p, KEY, method="opok", eta=0.05, delta=0.1).revenue)

    shift = jnp.array([0.1, -0.2])
    g = jax.jit(jax.grad(total))(shift)
    h, e = 1e-6, jnp.array([0.3, 0.7])
    fd = (total(shift + h * e) - total(shift - h * e)) / (2 * h)
    np.testing.assert_allclose(float(g @ e), float(fd), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"method": "ucb"}, "method"),
        ({"method": "gdg", "rank": 2}, "rank"),
        ({"method": "opol", "rank": 9}, "rank"),
        ({"method": "opok", "features": np.ones((5, 2))}, "features"),
        ({"delta": 5.0}, "delta"),
        ({"eta": -1.0}, "eta"),
        ({"key": 3}, "key"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    prob = _problem()
    kw = {"key": KEY, **kwargs}
    with pytest.raises(ValueError, match=name):
        bandits.dynamic_pricing(prob, **kw)


def test_bad_problem_and_constructor_arguments():
    with pytest.raises(ValueError, match="problem"):
        bandits.dynamic_pricing((1, 2), KEY)
    with pytest.raises(ValueError, match="rank"):
        bandits.pricing_problem(KEY, n_products=3, rank=4, horizon=5)
    with pytest.raises(ValueError, match="radius"):
        bandits.pricing_problem(KEY, n_products=3, rank=2, horizon=5, radius=-1.0)
    with pytest.raises(ValueError, match="dim"):
        bandits.fkm_parameters(_problem(), 0)
    with pytest.raises(ValueError, match="problem"):
        bandits.best_fixed_price(None)
