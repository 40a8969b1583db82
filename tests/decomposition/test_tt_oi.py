"""tt_oi: TT orthogonal iteration, against TensorLy's tensor_train_OI and its test."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly import random as tl_random
from tensorly.contrib.decomposition.tt_TTOI import tensor_train_OI

import lrjax
from lrjax.testing import random_tt


@pytest.mark.parametrize("n_modes", [3, 4])
def test_ttoi_scenario_of_tensorly(n_modes):
    """TensorLy's test_TTOI: a rank-1 TT of 20^d entries under unit Gaussian noise; the
    error never grows and the estimate improves on TT-SVD by at least 2e-3."""
    rng = tl.check_random_state(1234)
    shape, rank = (20,) * n_modes, (1,) * (n_modes + 1)
    truth = tl_random.random_tt(shape=shape, rank=rank, random_state=rng, full=True)
    data = truth + rng.standard_normal(shape)
    res = lrjax.tt_oi(data, 1, maxiter=2, tol=0.0)
    history = np.asarray(res.info.history)
    assert np.all(np.diff(history) <= 1e-12)
    start = np.asarray(lrjax.tt_svd(data, 1).to_dense())
    before = np.linalg.norm(start - truth) / np.linalg.norm(truth)
    after = np.linalg.norm(np.asarray(res.tt.to_dense()) - truth) / np.linalg.norm(truth)
    assert before - after >= 2e-3


@pytest.mark.parametrize("n_modes", [3, 4])
def test_iterates_match_tensorly_sweep_for_sweep(n_modes):
    """lrjax starts from TT-SVD and one backward sweep, so its iteration k ends with
    TensorLy's half sweep 2k + 2 (same error) and its result, a forward sweep on the last
    right cores, is TensorLy's half sweep 2k + 3."""
    rng = tl.check_random_state(7)
    shape, rank = (8,) * n_modes, (1,) + (2,) * (n_modes - 1) + (1,)
    truth = tl_random.random_tt(shape=shape, rank=rank, random_state=rng, full=True)
    data = truth + 0.3 * rng.standard_normal(shape)
    _, fulls, errors = tensor_train_OI(data, rank, n_iter=10, trajectory=True, return_errors=True)
    res = lrjax.tt_oi(data, 2, maxiter=3, tol=0.0)
    want = np.asarray(errors[3:8:2]) / np.linalg.norm(data)
    np.testing.assert_allclose(np.asarray(res.info.history), want, rtol=1e-10)
    got = np.asarray(res.tt.to_dense())
    assert np.linalg.norm(got - fulls[8]) / np.linalg.norm(fulls[8]) < 1e-10
    for core in res.tt.cores[:-1]:  # left-orthonormal, as tt_svd returns them
        mat = np.asarray(core).reshape(-1, core.shape[-1])
        np.testing.assert_allclose(mat.T @ mat, np.eye(core.shape[-1]), atol=1e-10)


def test_planted_tensor_train_is_exact_and_unrolled_gradient():
    """The implicit gradient is checked against finite differences by the contract test
    (tests/test_contract.py, case tt_oi); here the unrolled one."""
    x = random_tt(jax.random.key(0), (5, 4, 6, 3), (2, 3, 2)).to_dense()
    res = lrjax.tt_oi(x, (2, 3, 2))
    assert float(res.info.error) < 1e-12 and res.tt.rank == (1, 2, 3, 2, 1)
    y = random_tt(jax.random.key(1), (5, 4, 6), (2, 2)).to_dense()
    y = y + 0.05 * jax.random.normal(jax.random.key(2), y.shape)

    def loss(y):
        tt = lrjax.tt_oi(y, 2, maxiter=10, tol=0.0, diff="unroll").tt
        return jnp.sum(jnp.sin(tt.to_dense()))

    d = jax.random.normal(jax.random.key(3), y.shape)
    fd = (loss(y + 1e-6 * d) - loss(y - 1e-6 * d)) / 2e-6
    np.testing.assert_allclose(float(jnp.vdot(jax.grad(loss)(y), d)), float(fd), rtol=1e-5)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`x` must have at least 2 dimensions"):
        lrjax.tt_oi(np.ones(4), 2)
    with pytest.raises(ValueError, match="`maxiter`"):
        lrjax.tt_oi(np.ones((3, 4, 5)), 2, maxiter=0)
    with pytest.raises(ValueError, match="`max_rank"):
        lrjax.tt_oi(np.ones((3, 4, 5)), 0)
