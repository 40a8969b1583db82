"""Proximal gradient and ADMM against scikit-learn's Lasso, closed forms and their gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import Lasso

from lrjax.prox import prox_l1, prox_nuclear
from lrjax.solvers import admm, proximal_gradient

LAM = 2.0


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 10))
    b = rng.standard_normal(30)
    ref = Lasso(alpha=LAM / 30, fit_intercept=False, tol=1e-13, max_iter=200_000).fit(a, b)
    support = np.abs(ref.coef_) > 1e-9
    a_s = a[:, support]
    # d(sum x)/db on the active set: A_S (A_S^T A_S)^{-1} 1 (locally constant signs).
    grad = a_s @ np.linalg.solve(a_s.T @ a_s, np.ones(support.sum()))
    return jnp.asarray(a), jnp.asarray(b), ref.coef_, grad


def _lsq(x, a, b):
    return 0.5 * jnp.sum((a @ x - b) ** 2)


def _x_update(z, u, rho, params):
    a, b = params
    return jnp.linalg.solve(a.T @ a + rho * jnp.eye(a.shape[1]), a.T @ b + rho * (z - u))


def _z_update(h, u, rho, params):
    return prox_l1(h + u, LAM, 1.0 / rho)


@pytest.mark.parametrize("acceleration", [True, False])
@pytest.mark.parametrize("fixed_step", [True, False])
def test_proximal_gradient_solves_lasso(problem, acceleration, fixed_step):
    a, b, coef, _ = problem
    step = 1.0 / float(np.linalg.norm(np.asarray(a), 2) ** 2) if fixed_step else None
    res = proximal_gradient(
        _lsq,
        jnp.zeros(10),
        (a, b),
        prox=prox_l1,
        hyperparams_prox=LAM,
        stepsize=step,
        tol=1e-12,
        maxiter=5000,
        acceleration=acceleration,
    )
    assert bool(res.info.converged)
    np.testing.assert_allclose(np.asarray(res.x), coef, atol=1e-9)


def test_fista_beats_ista_on_an_ill_conditioned_problem():
    rng = np.random.default_rng(2)
    u = np.linalg.qr(rng.standard_normal((40, 20)))[0]
    a = jnp.asarray(u * np.logspace(0, -1.5, 20))  # condition number of AᵀA: 1000
    b = jnp.asarray(rng.standard_normal(40))
    kw = dict(prox=prox_l1, hyperparams_prox=0.01, tol=1e-8, maxiter=20_000)
    fista = proximal_gradient(_lsq, jnp.zeros(20), (a, b), **kw)
    ista = proximal_gradient(_lsq, jnp.zeros(20), (a, b), acceleration=False, **kw)
    assert bool(fista.info.converged) and bool(ista.info.converged)
    assert int(fista.info.n_iter) < int(ista.info.n_iter) / 3


def test_proximal_gradient_nuclear_denoising_closed_form():
    m = jnp.asarray(np.random.default_rng(1).standard_normal((6, 5)))
    res = proximal_gradient(
        lambda x, m: 0.5 * jnp.sum((x - m) ** 2),
        jnp.zeros((6, 5)),
        (m,),
        prox=prox_nuclear,
        hyperparams_prox=1.3,
        tol=1e-13,
    )
    np.testing.assert_allclose(np.asarray(res.x), np.asarray(prox_nuclear(m, 1.3)), atol=1e-10)


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_gradients_match_closed_form(problem, diff):
    a, b, _, grad = problem

    def pg(b):
        return proximal_gradient(
            _lsq,
            jnp.zeros(10),
            (a, b),
            prox=prox_l1,
            hyperparams_prox=LAM,
            tol=1e-13,
            maxiter=5000,
            diff=diff,
        ).x.sum()

    def ad(b):
        init = (jnp.zeros(10), jnp.zeros(10))
        return admm(_x_update, _z_update, init, (a, b), tol=1e-12, maxiter=3000, diff=diff).z.sum()

    np.testing.assert_allclose(np.asarray(jax.grad(pg)(b)), grad, atol=1e-8)
    np.testing.assert_allclose(np.asarray(jax.grad(ad)(b)), grad, atol=1e-8)


@pytest.mark.parametrize(("alpha", "adaptive"), [(1.0, True), (1.6, True), (1.0, False)])
def test_admm_solves_lasso(problem, alpha, adaptive):
    a, b, coef, _ = problem
    res = admm(
        _x_update,
        _z_update,
        (jnp.zeros(10), jnp.zeros(10)),
        (a, b),
        alpha=alpha,
        adaptive=adaptive,
        tol=1e-11,
        maxiter=5000,
    )
    assert bool(res.info.converged)
    np.testing.assert_allclose(np.asarray(res.z), coef, atol=1e-8)
    np.testing.assert_allclose(np.asarray(res.x), np.asarray(res.z), atol=1e-8)


def test_admm_general_constraint():
    # min 0.5||x - p||^2 + 0.5||z - q||^2  s.t.  x + 2z = c: closed form by Lagrange.
    p, q, c = jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0]), jnp.array([2.0, 1.0])
    x_upd = lambda z, u, rho, prm: (prm[0] + rho * (prm[2] - 2 * z - u)) / (1 + rho)
    z_upd = lambda h, u, rho, prm: (prm[1] + 2 * rho * (prm[2] - h - u)) / (1 + 4 * rho)
    res = admm(
        x_upd,
        z_upd,
        (jnp.zeros(2), jnp.zeros(2)),
        (p, q, c),
        b_op=lambda z: 2 * z,
        c=c,
        tol=1e-12,
        maxiter=2000,
    )
    lam = (p + 2 * q - c) / 5  # x = p - lam, z = q - 2 lam
    np.testing.assert_allclose(np.asarray(res.x), np.asarray(p - lam), atol=1e-9)
    np.testing.assert_allclose(np.asarray(res.z), np.asarray(q - 2 * lam), atol=1e-9)


def test_vmap_over_problems_equals_loop(problem):
    a, b, _, _ = problem
    bs = jnp.stack([b, 2 * b, -b])
    run = lambda b: proximal_gradient(
        _lsq, jnp.zeros(10), (a, b), prox=prox_l1, hyperparams_prox=LAM, tol=1e-10, maxiter=3000
    )
    batched = jax.vmap(run)(bs)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(batched.x[i]), np.asarray(run(bs[i]).x), atol=1e-12)
    run_admm = lambda b: (
        admm(
            _x_update, _z_update, (jnp.zeros(10), jnp.zeros(10)), (a, b), tol=1e-10, maxiter=3000
        ).z
    )
    batched = jax.vmap(run_admm)(bs)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(run_admm(bs[i])), atol=1e-10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`maxiter` must be a positive int, got 0"):
        proximal_gradient(_lsq, jnp.zeros(2), (jnp.eye(2), jnp.ones(2)), maxiter=0)
    with pytest.raises(ValueError, match="`stepsize` must be positive"):
        proximal_gradient(_lsq, jnp.zeros(2), (jnp.eye(2), jnp.ones(2)), stepsize=-1.0)
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 2\), got 2.5"):
        admm(_x_update, _z_update, (jnp.zeros(2), jnp.zeros(2)), alpha=2.5)
    with pytest.raises(ValueError, match="`diff` must be one of"):
        admm(_x_update, _z_update, (jnp.zeros(2), jnp.zeros(2)), diff="x")


def test_admm_does_not_stop_while_the_dual_is_zero():
    """g = 0: the scaled dual stays zero, and the old relative dual residual (divided by
    ||ρAᵀu|| = 0) stopped at iteration 1 with x = p/2 and error inf (issue 26, item 2)."""
    x_update = lambda z, u, rho, p: (p + rho * (z - u)) / (1 + rho)  # f = 1/2 ||x - p||^2
    z_update = lambda h, u, rho, p: h + u  # g = 0
    p = jnp.array([30.0, -10.0])
    res = admm(x_update, z_update, (jnp.zeros(2), jnp.zeros(2)), p, tol=1e-10)
    np.testing.assert_allclose(np.asarray(res.x), [30.0, -10.0], rtol=1e-8)
    assert bool(res.info.converged) and int(res.info.n_iter) > 1


@pytest.mark.parametrize("nonneg", [False, True])
def test_admm_tensorly_least_squares_scenario(nonneg):
    """TensorLy's own ADMM test (tensorly/solvers/tests/test_admm.py): min ||A X - B|| with
    known X (non-negative in the constrained variant), x-step a ridge solve, z-step the
    identity or a projection; TensorLy asks for 2 decimals, we get far more."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.random((20, 10)))
    truth = jnp.asarray(rng.random((10, 10)))
    b = a @ truth
    ata, atb = a.T @ a, a.T @ b

    def x_update(z, u, rho, p):
        return jnp.linalg.solve(ata + rho * jnp.eye(10), atb + rho * (z - u))

    def z_update(h, u, rho, p):
        return jnp.maximum(h + u, 0.0) if nonneg else h + u

    zero = jnp.zeros((10, 10))
    res = admm(x_update, z_update, (zero, zero), tol=1e-10, maxiter=5000)
    assert bool(res.info.converged) and int(res.info.n_iter) > 1
    np.testing.assert_allclose(np.asarray(res.z), np.asarray(truth), atol=1e-6)
