import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.testing import random_tt, relative_error
from tests.conftest import directional_fd


def _tt_svd_numpy(x, ranks):
    cores, rest, prev = [], x, 1
    for k, r in enumerate(ranks):
        u, s, vt = np.linalg.svd(rest.reshape(prev * x.shape[k], -1), full_matrices=False)
        cores.append(u[:, :r].reshape(prev, x.shape[k], r))
        rest = s[:r, None] * vt[:r]
        prev = r
    cores.append(rest.reshape(prev, x.shape[-1], 1))
    return cores


def test_recovers_planted_tt():
    planted = random_tt(jax.random.key(0), (5, 6, 7, 4), (3, 4, 2))
    x = planted.to_dense()
    tt = lrjax.tt_svd(x, (3, 4, 2))
    assert tt.rank == (1, 3, 4, 2, 1)
    assert float(relative_error(x, tt.to_dense())) < 1e-12


def test_matches_numpy_tt_svd_on_random_tensor(rng):
    x = rng.standard_normal((4, 5, 6, 3))
    ranks = (3, 5, 2)
    tt = lrjax.tt_svd(jnp.asarray(x), ranks)
    ref = _tt_svd_numpy(x, ranks)
    dense_ref = np.einsum("aib,bjc,ckd,dle->ijkl", *ref)
    np.testing.assert_allclose(np.asarray(tt.to_dense()), dense_ref, atol=1e-10)
    for c, c_ref in zip(tt.cores[:-1], ref[:-1], strict=True):
        np.testing.assert_allclose(np.abs(np.asarray(c)), np.abs(c_ref), atol=1e-8)


def test_rank_forms_and_clipping():
    x = jnp.ones((2, 3, 4))
    assert lrjax.tt_svd(x, 10).rank == (1, 2, 4, 1)
    assert lrjax.tt_svd(x, (1, 2, 2, 1)).rank == (1, 2, 2, 1)
    with pytest.raises(ValueError, match="must start and end with 1"):
        lrjax.tt_svd(x, (2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"max_rank\[0\]` must be a positive int, got 0"):
        lrjax.tt_svd(x, (0, 2))
    with pytest.raises(ValueError, match="`max_rank` must be an int"):
        lrjax.tt_svd(x, (2, 2, 2))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        lrjax.tt_svd(jnp.ones(3), 2)


def test_adaptive_meets_accuracy_with_minimal_ranks(rng):
    planted = random_tt(jax.random.key(1), (5, 6, 7, 4), (2, 3, 2))
    x = np.asarray(planted.to_dense())
    noisy = x + 1e-6 * rng.standard_normal(x.shape)
    tt = lrjax.tt_svd_adaptive(jnp.asarray(noisy), eps=1e-4)
    assert tt.rank == (1, 2, 3, 2, 1)
    for eps in (1e-1, 3e-1):
        y = rng.standard_normal((4, 5, 6))
        tt = lrjax.tt_svd_adaptive(jnp.asarray(y), eps=eps)
        assert float(relative_error(y, tt.to_dense())) <= eps
    with pytest.raises(ValueError, match="cannot run under jit"):
        jax.jit(lambda x: lrjax.tt_svd_adaptive(x, eps=0.1))(jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="`eps` must be a non-negative number"):
        lrjax.tt_svd_adaptive(jnp.ones((3, 3)), eps=-1.0)


def test_tt_svd_gradient_matches_finite_differences(rng):
    x0 = rng.standard_normal((4, 3, 5))
    v, w = rng.standard_normal(x0.shape), rng.standard_normal(x0.shape)
    loss = lambda x: jnp.sum(lrjax.tt_svd(x, 2).to_dense() * w)
    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-6)


def test_tt_matrix_svd_recovers_a_planted_tt_matrix_and_matches_tensorly(rng):
    cores = [rng.standard_normal(s) for s in ((1, 2, 3, 2), (2, 3, 2, 3), (3, 4, 2, 1))]
    planted = lrjax.TTMatrix(tuple(jnp.asarray(c) for c in cores))
    a = planted.to_dense()  # (24, 12)
    tt = lrjax.tt_matrix_svd(a, (2, 3), row_modes=(2, 3, 4), col_modes=(3, 2, 2))
    assert isinstance(tt, lrjax.TTMatrix) and tt.rank == (1, 2, 3, 1)
    assert tt.row_modes == (2, 3, 4) and tt.col_modes == (3, 2, 2)
    assert float(relative_error(a, tt.to_dense())) < 1e-12
    # the order-2N tensor input (rows first, as TensorLy takes it) gives the same matrix
    x = np.asarray(a).reshape(2, 3, 4, 3, 2, 2)
    np.testing.assert_allclose(lrjax.tt_matrix_svd(x, (2, 3)).to_dense(), a, atol=1e-12)
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tensor_train_matrix
    from tensorly.tt_matrix import tt_matrix_to_tensor

    noisy = x + 0.1 * rng.standard_normal(x.shape)
    theirs = tt_matrix_to_tensor(tensor_train_matrix(tl.tensor(noisy), [1, 2, 2, 1]))
    ours = lrjax.tt_matrix_svd(noisy, 2).to_dense()
    np.testing.assert_allclose(ours, np.asarray(theirs).reshape(24, 12), atol=1e-10)


def test_tt_matrix_svd_names_bad_modes():
    with pytest.raises(ValueError, match="order-2N tensor"):
        lrjax.tt_matrix_svd(jnp.ones((2, 3, 4)), 2)
    with pytest.raises(ValueError, match=r"give a 6 x 4 matrix, but `x` has shape \(6, 6\)"):
        lrjax.tt_matrix_svd(jnp.ones((6, 6)), 2, row_modes=(2, 3), col_modes=(2, 2))
    with pytest.raises(ValueError, match="go together"):
        lrjax.tt_matrix_svd(jnp.ones((6, 6)), 2, row_modes=(2, 3))
