"""cp_randomized: TensorLy's randomised_parafac scenarios, side by side, and planted problems."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.testing import random_cp


def test_tensorly_scenario_and_side_by_side():
    """TensorLy's test_randomised_parafac: a rank-4 10 x 10 x 10 CP tensor (seed 1234), 100
    samples, 60 sweeps, error below 0.05; and on a noisy planted problem the median error
    over seeds is within 1.5x of TensorLy's own (both sample; neither is deterministic)."""
    tl = pytest.importorskip("tensorly")
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import randomised_parafac
    from tensorly.random import random_cp as tl_random_cp

    rng = tl.check_random_state(1234)
    rng.random_sample((10, 10, 10))  # the draw TensorLy's test makes first
    x = tl_random_cp(shape=(10, 10, 10), rank=4, full=True, random_state=rng)
    for seed in range(2):
        for sampling in ("leverage", "uniform"):
            res = lrjax.cp_randomized(jnp.asarray(x), 4, n_samples=100, key=jax.random.key(seed),
                                      maxiter=60, tol=0.0, sampling=sampling)  # fmt: skip
            assert float(res.info.error) < 0.05
            assert [f.shape for f in res.cp.factors] == [(10, 4)] * 3
    y = tl_random_cp(shape=(30, 25, 20), rank=5, full=True, random_state=0)
    y = y + 0.01 * np.std(y) * np.random.default_rng(0).standard_normal(y.shape)
    theirs, ours = [], []
    for seed in range(4):
        cp = randomised_parafac(y, rank=5, n_samples=100, n_iter_max=50, tol=0, random_state=seed)
        theirs.append(np.linalg.norm(cp_to_tensor(cp) - y) / np.linalg.norm(y))
        res = lrjax.cp_randomized(jnp.asarray(y), 5, n_samples=100, key=jax.random.key(seed),
                                  maxiter=50, tol=0.0)  # fmt: skip
        ours.append(float(res.info.error))
    assert np.median(ours) < 1.5 * np.median(theirs)


def test_recovers_a_planted_tensor_and_a_rank_deficient_one():
    x = random_cp(jax.random.key(0), (15, 14, 13), 3).to_dense()
    res = lrjax.cp_randomized(x, 3, n_samples=90, key=jax.random.key(1), maxiter=80)
    assert float(res.info.error) < 1e-6
    np.testing.assert_allclose(res.cp.to_dense(), x, atol=1e-5 * float(jnp.abs(x).max()))
    # more components than the rank (TensorLy issue #531): the least squares stay defined
    ones = jnp.ones((2, 3, 4))
    res = lrjax.cp_randomized(ones, 2, n_samples=12, key=jax.random.key(1), maxiter=20)
    assert float(res.info.error) < 1e-3
    with pytest.raises(ValueError, match="n_samples"):
        lrjax.cp_randomized(x, 3, n_samples=2, key=jax.random.key(0))
