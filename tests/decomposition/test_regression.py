"""Tensor regression (cp_regression, tucker_regression, regression_predict) against TensorLy's
CPRegressor / TuckerRegressor, planted weights and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.random import random_cp as tl_random_cp
from tensorly.regression import CPRegressor, TuckerRegressor

import lrjax
from lrjax.testing import random_cp, random_tt, random_tucker


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def _images(seed):
    """TensorLy's test data: 8x8x3 Gaussian images, a rank-1 box weight, a scalar response."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(1200, 8, 8, 3))
    w = np.zeros((8, 8, 3))
    w[2:-2, 2:-2, 0], w[2:-2, 2:-2, 1], w[2:-2, 2:-2, 2] = 1, 2, -1
    return x, w, np.einsum("sijk,ijk->s", x, w)


def test_cp_regressor_scenario_of_tensorly():
    """TensorLy's test_CPRegressor: rank 4, reg_W=1, RMSE on held-out samples <= 0.05."""
    x, w, y = _images(1234)
    fit, info = lrjax.cp_regression(x[:1000], y[:1000], 4, reg=1.0, maxiter=200, tol=1e-10)
    assert _rmse(lrjax.regression_predict(x[1000:], fit), y[1000:]) <= 0.05
    assert bool(info.converged) and float(info.error) < 1e-3
    assert np.linalg.norm(fit.to_dense() - w) / np.linalg.norm(w) < 1e-3  # the planted box


def test_multi_output_cp_regressor_scenario_of_tensorly():
    """TensorLy's test_multidim_CPRegressor: a (3, 2) response, rank 20, reg_W=0 (100 sweeps
    where TensorLy runs 200: held-out RMSE 0.0027 against its bound 0.005)."""
    rng = tl.check_random_state(1234)
    w = tl_random_cp(shape=(12, 5, 4, 3, 2), rank=4, full=True, random_state=rng)
    x = tl.randn((1200, 12, 5, 4), seed=rng)
    y = (x.reshape(1200, -1) @ w.reshape(-1, 6)).reshape(-1, 3, 2)
    fit, _ = lrjax.cp_regression(
        x[:1000], y[:1000], 20, reg=0.0, maxiter=100, tol=1e-12, key=jax.random.key(0)
    )
    pred = lrjax.regression_predict(x[1000:], fit)
    assert pred.shape == (200, 3, 2)
    assert _rmse(pred, y[1000:]) <= 0.005


def test_tucker_regressor_scenario_of_tensorly():
    """TensorLy's test_TuckerRegressor: 10x10x3 images, ranks (5, 5, 2), RMSE <= 0.05."""
    rng = np.random.RandomState(0)
    x = rng.normal(size=(1200, 10, 10, 3))
    w = np.zeros((10, 10, 3))
    w[2:-2, 2:-2, 0], w[2:-2, 2:-2, 1], w[2:-2, 2:-2, 2] = 1, 2, -1
    y = np.einsum("sijk,ijk->s", x, w)
    fit, info = lrjax.tucker_regression(x[:1000], y[:1000], (5, 5, 2), maxiter=200, tol=1e-10)
    assert _rmse(lrjax.regression_predict(x[1000:], fit), y[1000:]) <= 0.05
    assert bool(info.converged)
    for u in fit.factors:  # the result's factors are orthonormal
        np.testing.assert_allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-10)


def _tl_cp_start(seed, shape, rank):
    """TensorLy's CPRegressor start for random_state=seed (its draws, in its order)."""
    rng = np.random.RandomState(seed)
    factors = tuple(jnp.asarray(rng.randn(s, rank)) for s in shape)
    return lrjax.CPTensor(jnp.ones(rank), factors)


def _tl_tucker_start(seed, shape, ranks):
    rng = np.random.RandomState(seed)
    core = jnp.asarray(rng.randn(*ranks))
    return lrjax.TuckerTensor(
        core, tuple(jnp.asarray(rng.randn(s, r)) for s, r in zip(shape, ranks, strict=True))
    )


@pytest.mark.parametrize("sweeps", [1, 3])
def test_cp_sweeps_match_tensorly_without_ridge(sweeps):
    """With reg=0 every sweep gives TensorLy's weight (the balancing only moves the gauge)."""
    x, _, y = _images(5)
    x, y = x[:300], y[:300] + 0.1 * np.random.RandomState(1).normal(size=300)
    ref = CPRegressor(3, tol=0, reg_W=0.0, n_iter_max=sweeps, random_state=7, verbose=0)
    ref.fit(x, y)
    start = _tl_cp_start(7, (8, 8, 3), 3)
    fit, info = lrjax.cp_regression(x, y, 3, reg=0.0, init=start, maxiter=sweeps, tol=0.0)
    got, want = np.asarray(fit.to_dense()), ref.weight_tensor_
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-8
    assert int(info.n_iter) == sweeps


@pytest.mark.parametrize("sweeps", [1, 3])
def test_tucker_sweeps_match_tensorly_without_ridge(sweeps):
    x, _, y = _images(6)
    x, y = x[:300], y[:300] + 0.1 * np.random.RandomState(2).normal(size=300)
    ref = TuckerRegressor([3, 3, 2], tol=0, reg_W=0.0, n_iter_max=sweeps, random_state=7, verbose=0)
    ref.fit(x, y)
    start = _tl_tucker_start(7, (8, 8, 3), (3, 3, 2))
    fit, _ = lrjax.tucker_regression(x, y, (3, 3, 2), reg=0.0, init=start, maxiter=sweeps, tol=0.0)
    got, want = np.asarray(fit.to_dense()), ref.weight_tensor_
    # unregularised solves (lrjax's with its 1e-12 trace floor) part by ~1e-7 after 3 sweeps
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-6


def _small_problem():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(150, 6, 5, 3))
    y = np.einsum("sijk,ijk->s", x, rng.normal(size=(6, 5, 3))) + 0.5 * rng.normal(size=150)
    return x, y


def test_ridge_first_sweep_and_fixed_point_match_tensorly():
    """reg > 0: the first sweep is TensorLy's exactly; then lrjax rebalances the gauge (a
    descent step that keeps the weight) and reaches TensorLy's fixed point in far fewer
    sweeps than TensorLy (3000 sweeps there, converged here in under 200)."""
    x, y = _small_problem()
    cases = [
        (CPRegressor(3, reg_W=5.0), lrjax.cp_regression, 3, _tl_cp_start(7, (6, 5, 3), 3)),
        (
            TuckerRegressor([2, 2, 2], reg_W=5.0),
            lrjax.tucker_regression,
            (2, 2, 2),
            _tl_tucker_start(7, (6, 5, 3), (2, 2, 2)),
        ),
    ]
    for ref, solve, rank, start in cases:
        for sweeps in (1, 3000):
            ref.set_params(tol=0, n_iter_max=sweeps, random_state=7, verbose=0).fit(x, y)
            maxiter, tol = (1, 0.0) if sweeps == 1 else (500, 1e-14)
            fit, info = solve(x, y, rank, reg=5.0, init=start, maxiter=maxiter, tol=tol)
            want = ref.weight_tensor_
            assert np.linalg.norm(np.asarray(fit.to_dense()) - want) / np.linalg.norm(want) < 1e-8
            assert sweeps == 1 or int(info.n_iter) < 200


def test_planted_weights_are_recovered_exactly():
    """Noise-free responses of a CP / Tucker weight (tensor output included), reg=0."""
    x = jax.random.normal(jax.random.key(0), (400, 5, 4))
    w_cp = random_cp(jax.random.key(1), (5, 4, 3), 2).to_dense()
    y = jnp.einsum("sij,ijo->so", x, w_cp)
    fit, info = lrjax.cp_regression(x, y, 2, reg=0.0, maxiter=500, tol=1e-16)
    np.testing.assert_allclose(fit.to_dense(), w_cp, atol=1e-9)
    assert float(info.error) < 1e-9
    w_tk = random_tucker(jax.random.key(2), (5, 4, 3), (2, 3, 2)).to_dense()
    y = jnp.einsum("sij,ijo->so", x, w_tk)
    fit, info = lrjax.tucker_regression(x, y, (2, 3, 2), reg=0.0, maxiter=500, tol=1e-16)
    np.testing.assert_allclose(fit.to_dense(), w_tk, atol=1e-9)
    assert fit.core.shape == (2, 3, 2)


def test_full_rank_tucker_is_ridge_regression():
    """Tucker ranks equal to the sizes: the core regression alone is ordinary ridge
    regression on the vectorised samples (closed form)."""
    rng = np.random.RandomState(3)
    x = rng.normal(size=(80, 3, 4))
    y = rng.normal(size=80)
    fit, _ = lrjax.tucker_regression(x, y, None, reg=0.7, maxiter=500, tol=1e-15)
    a = x.reshape(80, -1)
    ridge = np.linalg.solve(a.T @ a + 0.7 * np.eye(12), a.T @ y)
    # the objective differs (the factors are penalised too), so compare the fit with reg=0
    fit0, _ = lrjax.tucker_regression(x, y, None, reg=0.0, maxiter=500, tol=1e-15)
    np.testing.assert_allclose(fit0.to_dense().reshape(-1), np.linalg.lstsq(a, y)[0], atol=1e-9)
    assert np.linalg.norm(fit.to_dense().reshape(-1) - ridge) < np.linalg.norm(ridge)


@pytest.mark.parametrize("fn", ["cp", "tucker"])
def test_gradients_implicit_unroll_and_finite_differences(fn):
    """d/dy of a loss on the predictions by both diff modes and a central difference (the
    implicit one at reg > 0 is also the contract test's case); d/dreg for CP."""
    x = jax.random.normal(jax.random.key(1), (60, 4, 3))
    w = random_cp(jax.random.key(2), (4, 3, 2), 2).to_dense()
    y = jnp.einsum("sij,ijo->so", x, w) + 0.1 * jax.random.normal(jax.random.key(3), (60, 2))
    solve = lrjax.cp_regression if fn == "cp" else lrjax.tucker_regression
    rank = 2 if fn == "cp" else (2, 2, 2)

    def loss(y, reg, diff="implicit"):
        fit, _ = solve(x, y, rank, reg=reg, maxiter=120, tol=0.0, diff=diff)
        return jnp.sum(jnp.sin(lrjax.regression_predict(x[:5], fit)))

    d = jax.random.normal(jax.random.key(5), y.shape)
    for reg, diff in ((0.3, "unroll"), (0.0, "implicit")):
        fd = (loss(y + 1e-5 * d, reg) - loss(y - 1e-5 * d, reg)) / 2e-5
        g = jax.grad(loss)(y, reg, diff)
        np.testing.assert_allclose(float(jnp.vdot(g, d)), float(fd), rtol=1e-6)
    if fn == "cp":
        g_reg = jax.grad(loss, argnums=1)(y, 0.3)
        fd_reg = (loss(y, 0.3 + 1e-5) - loss(y, 0.3 - 1e-5)) / 2e-5
        np.testing.assert_allclose(float(g_reg), float(fd_reg), rtol=1e-5)


def test_predict_matches_tensordot_for_every_format():
    x = jax.random.normal(jax.random.key(0), (7, 4, 3))
    shape = (4, 3, 2, 5)
    weights = [
        random_cp(jax.random.key(1), shape, 3),
        random_tucker(jax.random.key(2), shape, (2, 3, 2, 2)),
        random_tt(jax.random.key(3), shape, 3),
    ]
    for w in weights:
        want = np.tensordot(np.asarray(x), np.asarray(w.to_dense()), axes=2)
        np.testing.assert_allclose(lrjax.regression_predict(x, w), want, atol=1e-12)
        np.testing.assert_allclose(lrjax.regression_predict(x, w.to_dense()), want, atol=1e-12)
    scalar = random_cp(jax.random.key(4), (4, 3), 2)  # a scalar response per sample
    assert lrjax.regression_predict(x, scalar).shape == (7,)


def test_vmap_over_problems_and_float32():
    x = jax.random.normal(jax.random.key(0), (50, 4, 3))
    ys = jax.random.normal(jax.random.key(1), (3, 50))
    batched = jax.jit(jax.vmap(lambda y: lrjax.cp_regression(x, y, 2).weight.to_dense()))(ys)
    for i in range(3):
        np.testing.assert_allclose(
            batched[i], lrjax.cp_regression(x, ys[i], 2).weight.to_dense(), atol=1e-10
        )
    fit, info = lrjax.tucker_regression(x.astype(jnp.float32), ys[0].astype(jnp.float32), 2)
    assert fit.core.dtype == jnp.float32 and bool(jnp.isfinite(info.error))


def test_errors_name_the_argument():
    x, y = np.ones((5, 4, 3)), np.ones(5)
    with pytest.raises(ValueError, match="`y` must have one row per sample"):
        lrjax.cp_regression(x, np.ones(4), 2)
    with pytest.raises(ValueError, match="weight of one mode"):
        lrjax.cp_regression(np.ones((5, 4)), np.ones(5), 2)
    with pytest.raises(ValueError, match="`reg` must be non-negative"):
        lrjax.tucker_regression(x, y, 2, reg=-1.0)
    with pytest.raises(ValueError, match="`init` must be a CPTensor of shape"):
        lrjax.cp_regression(x, y, 2, init=random_cp(jax.random.key(0), (4, 2), 2))
    with pytest.raises(ValueError, match="`init` must be a TuckerTensor of shape"):
        lrjax.tucker_regression(x, y, 2, init=random_tucker(jax.random.key(0), (4, 2), 2))
    with pytest.raises(ValueError, match="`key` must be a PRNG key when init='random'"):
        lrjax.tucker_regression(x, y, 2, init="random")
    with pytest.raises(ValueError, match="`x` must have shape"):
        lrjax.regression_predict(np.ones((5, 3, 4)), random_cp(jax.random.key(0), (4, 3), 2))
