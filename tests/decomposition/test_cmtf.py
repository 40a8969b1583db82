"""cmtf: TensorLy's test scenario side by side, missing entries, a 4-way tensor, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax


def _tensorly_scenario():
    tl = pytest.importorskip("tensorly")
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.random import random_cp

    rng = tl.check_random_state(1234)
    t = random_cp((21, 12, 16), rank=3, normalise_factors=False, random_state=rng)
    m = random_cp((21, 14), rank=3, normalise_factors=False, random_state=rng)
    m.factors[0] = t.factors[0]
    return cp_to_tensor(t), cp_to_tensor(m)


def test_matches_tensorly_on_its_scenario():
    """test_coupled_matrix_tensor_3d_factorization: squared error below 0.1 with a monotone
    error history; and no worse than TensorLy's own fit after the same 100 sweeps."""
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import coupled_matrix_tensor_3d_factorization

    x, y = _tensorly_scenario()
    res = lrjax.cmtf(jnp.asarray(x), jnp.asarray(y), 3, maxiter=100, tol=0.0)
    ours = np.sum((x - np.asarray(res.tensor.to_dense())) ** 2) + np.sum(
        (y - np.asarray(res.matrix.to_dense())) ** 2
    )
    hist = np.asarray(res.info.history)
    assert ours < 1e-1 and np.all(np.diff(hist) <= 1e-12)
    xp, yp, _ = coupled_matrix_tensor_3d_factorization(x, y, 3, n_iter_max=100)
    theirs = np.sum((x - cp_to_tensor(xp)) ** 2) + np.sum((y - cp_to_tensor(yp)) ** 2)
    assert ours <= theirs * (1 + 1e-6)
    assert res.matrix.factors[0] is res.tensor.factors[0] or np.array_equal(
        res.matrix.factors[0], res.tensor.factors[0]
    )


def test_missing_entries_and_a_four_way_tensor():
    k = jax.random.split(jax.random.key(0), 6)
    a, b, c, d, v = (
        jax.random.normal(kk, (n, 2)) for kk, n in zip(k, (9, 8, 7, 6, 5), strict=False)
    )
    x = jnp.einsum("ir,jr,kr,lr->ijkl", a, b, c, d)
    y = a @ v.T
    mask = jax.random.uniform(k[5], x.shape) > 0.4
    mask_y = jnp.ones(y.shape, bool).at[:3].set(False)  # three rows of the matrix unobserved
    res = lrjax.cmtf(jnp.where(mask, x, 0.0), jnp.where(mask_y, y, 0.0), 2, mask_x=mask,
                     mask_y=mask_y, maxiter=400, tol=0.0)  # fmt: skip
    np.testing.assert_allclose(res.tensor.to_dense(), x, atol=1e-4 * float(jnp.abs(x).max()))
    np.testing.assert_allclose(res.matrix.to_dense(), y, atol=1e-4 * float(jnp.abs(y).max()))


def test_bad_input_is_named():
    x = jnp.ones((4, 3, 2))
    with pytest.raises(ValueError, match="`y` must have 4 rows"):
        lrjax.cmtf(x, jnp.ones((5, 2)), 1)
    with pytest.raises(ValueError, match="mask_y"):
        lrjax.cmtf(x, jnp.ones((4, 2)), 1, mask_y=jnp.ones((4, 3), bool))
