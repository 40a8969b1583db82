"""tt_cross: TensorLy's test_mps_decomposition_cross re-told, exact recovery of planted tensor
trains from a fraction of their entries, black-box functions, maxvol and gradients."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl

import lrjax
from lrjax.decomposition._tt_cross import _maxvol
from lrjax.testing import random_tt


def test_ranks_and_shapes_of_tensorlys_tests_1_and_2():
    x = np.arange(4.0**3).reshape(4, 4, 4)
    tt, _ = lrjax.tt_cross(x, (3, 3), key=jax.random.key(0), maxiter=10, tol=1e-5)
    assert [c.shape for c in tt.cores] == [(1, 4, 3), (3, 4, 3), (3, 4, 1)]
    rng = tl.check_random_state(1234)
    x = rng.random_sample([3, 4, 5, 6, 2, 10])
    tt, _ = lrjax.tt_cross(x, (2, 2, 3, 2, 2), key=jax.random.key(1))
    for core, (left, right) in zip(
        tt.cores, itertools.pairwise([1, 2, 2, 3, 2, 2, 1]), strict=True
    ):
        assert core.shape[0] <= left and core.shape[-1] <= right


def test_full_rank_small_tensor_is_exact():
    """TensorLy's test 3: a random 3x3x3 tensor at ranks (3, 3) comes back to 1e-4."""
    x = tl.check_random_state(1234).random_sample([3, 3, 3])
    tt, _ = lrjax.tt_cross(x, (3, 3), key=jax.random.key(0))
    assert np.linalg.norm(tt.to_dense() - x) / np.linalg.norm(x) < 1e-10


def test_sum_cubed_on_a_grid():
    """TensorLy's test 4: (x1 + x2 + x3 + x4)^3 on an 11^4 grid at ranks 4, to 1e-5, both as
    a dense tensor and as a function that is never formed."""
    grid = np.linspace(0.0, 1.0, 11)
    x = sum(np.ix_(grid, grid, grid, grid)) ** 3
    tt, _ = lrjax.tt_cross(x, 4, key=jax.random.key(1), tol=1e-3)
    assert np.linalg.norm(tt.to_dense() - x) / np.linalg.norm(x) < 1e-5
    g = jnp.asarray(grid)
    f = lambda idx: g[idx].sum(axis=1) ** 3
    tt_f, info = lrjax.tt_cross(f, 4, shape=(11,) * 4, key=jax.random.key(1), tol=1e-3)
    assert np.linalg.norm(tt_f.to_dense() - x) / np.linalg.norm(x) < 1e-5
    assert bool(info.converged)


def test_planted_tensor_trains_are_recovered_from_few_entries():
    shape, ranks = (8, 7, 9, 6, 5), (2, 3, 3, 2)
    for seed in range(3):  # dense tensors: one compiled program for the three
        x = random_tt(jax.random.key(seed), shape, ranks).to_dense()
        tt, info = lrjax.tt_cross(x, ranks, key=jax.random.key(seed + 10), maxiter=4)
        assert float(jnp.linalg.norm(tt.to_dense() - x) / jnp.linalg.norm(x)) < 1e-10
        assert int(info.n_iter) <= 4
    read = []

    def f(idx):  # the same tensor as a function: only the crosses are read
        jax.debug.callback(lambda n: read.append(int(n)), idx.shape[0])  # counted at run time
        return x[tuple(idx.T)]

    tt, info = lrjax.tt_cross(f, ranks, shape=shape, key=jax.random.key(12), maxiter=4)
    assert float(jnp.linalg.norm(tt.to_dense() - x) / jnp.linalg.norm(x)) < 1e-10
    # every entry read, over all sweeps and the final one: a fraction of the 15 120
    assert 0 < sum(read) < 0.2 * np.prod(shape), (sum(read), int(info.n_iter))


def test_maxvol_finds_a_dominant_submatrix():
    for seed in range(5):
        a = jax.random.normal(jax.random.key(seed), (40, 5))
        rows = _maxvol(a)
        assert len(set(np.asarray(rows).tolist())) == 5
        b = a @ jnp.linalg.inv(a[rows])
        assert float(jnp.max(jnp.abs(b))) <= 1.05 + 1e-9


def test_gradient_through_the_entries_read():
    x = random_tt(jax.random.key(0), (5, 4, 6), (2, 2)).to_dense()
    y = x + 0.01 * jax.random.normal(jax.random.key(1), x.shape)

    def loss(y):
        return jnp.sum(
            jnp.sin(lrjax.tt_cross(y, 2, key=jax.random.key(2), maxiter=3).tt.to_dense())
        )

    d = jax.random.normal(jax.random.key(3), y.shape)
    fd = (loss(y + 1e-6 * d) - loss(y - 1e-6 * d)) / 2e-6
    np.testing.assert_allclose(float(jnp.vdot(jax.jit(jax.grad(loss))(y), d)), float(fd), rtol=1e-5)
    jitted = jax.jit(lambda y: lrjax.tt_cross(y, 2, key=jax.random.key(2)).tt.to_dense())(y)
    np.testing.assert_allclose(
        jitted, lrjax.tt_cross(y, 2, key=jax.random.key(2)).tt.to_dense(), atol=1e-12
    )


def test_errors_name_the_argument():
    f = lambda idx: idx.sum(axis=1).astype(float)
    with pytest.raises(ValueError, match="`shape` must be given"):
        lrjax.tt_cross(f, 2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="does not match"):
        lrjax.tt_cross(np.ones((3, 4)), 2, shape=(4, 3), key=jax.random.key(0))
    with pytest.raises(ValueError, match="`key`"):
        lrjax.tt_cross(np.ones((3, 4)), 2, key=0)
    with pytest.raises(ValueError, match="`max_rank"):
        lrjax.tt_cross(f, 0, shape=(4, 4, 4), key=jax.random.key(0))
