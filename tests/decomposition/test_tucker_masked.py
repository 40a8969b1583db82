"""tucker_hooi(mask=, weights=): Tucker with missing entries by EM-HOOI (TensorLy's
tucker(mask=))."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import tucker as tl_tucker
from tensorly.random import random_tucker as tl_random_tucker

import lrjax
from lrjax.testing import random_tucker


def test_a_mask_of_ones_is_the_unmasked_decomposition():
    """TensorLy's test_masked_tucker, first part."""
    x = np.arange(1.0, 28.0).reshape(3, 3, 3)
    masked = lrjax.tucker_hooi(x, (2, 2, 2), mask=np.ones((3, 3, 3)))
    plain = lrjax.tucker_hooi(x, (2, 2, 2))
    np.testing.assert_allclose(masked.tucker.to_dense(), plain.tucker.to_dense(), atol=1e-10)
    np.testing.assert_allclose(masked.info.error, plain.info.error, atol=1e-12)


@pytest.mark.parametrize("init", ["svd", "random"])
def test_a_corrupted_missing_entry_is_ignored(init):
    """TensorLy's test_masked_tucker, second part: a rank-(1, 1, 1) tensor whose entry
    (0, 0, 0) is replaced by 1 and masked out comes back to 1e-3."""
    x = tl_random_tucker((5, 5, 5), (1, 1, 1), full=True, random_state=1234)
    corrupted = x.copy()
    corrupted[0, 0, 0] = 1.0
    mask = np.ones((5, 5, 5))
    mask[0, 0, 0] = 0
    res = lrjax.tucker_hooi(corrupted, (1, 1, 1), mask=mask, init=init, key=jax.random.key(0))
    assert np.linalg.norm(res.tucker.to_dense() - x) < 1e-3
    res_nan = lrjax.tucker_hooi(np.where(mask > 0, corrupted, np.nan), (1, 1, 1), mask=mask)
    np.testing.assert_allclose(res_nan.tucker.to_dense(), res.tucker.to_dense(), atol=1e-10)


def test_planted_tucker_is_completed_as_tensorly_completes_it():
    """30 % of a planted rank-(2, 3, 2) tensor missing: the model matches the truth and
    TensorLy's masked tucker at convergence; info.error is the error on observed entries."""
    x = np.asarray(random_tucker(jax.random.key(0), (8, 7, 6), (2, 3, 2)).to_dense())
    mask = np.random.default_rng(0).random(x.shape) < 0.7
    res = lrjax.tucker_hooi(np.where(mask, x, 0.0), (2, 3, 2), mask=mask, maxiter=500, tol=1e-15)
    model = np.asarray(res.tucker.to_dense())
    assert np.linalg.norm(model - x) / np.linalg.norm(x) < 1e-8
    observed = np.linalg.norm((model - x)[mask]) / np.linalg.norm(x[mask])
    np.testing.assert_allclose(float(res.info.error), observed, atol=1e-12)
    ref_core, ref_factors = tl_tucker(
        np.where(mask, x, 0.0), rank=[2, 3, 2], mask=mask.astype(float), n_iter_max=500, tol=0
    )
    ref = tl.tucker_to_tensor((ref_core, ref_factors))
    assert np.linalg.norm(model - ref) / np.linalg.norm(ref) < 1e-8


def test_em_error_decreases_and_soft_weights_work():
    rng = np.random.default_rng(1)
    x = np.asarray(random_tucker(jax.random.key(1), (7, 6, 5), 2).to_dense())
    x = x + 0.05 * rng.standard_normal(x.shape)
    weights = rng.uniform(0.0, 1.0, x.shape)
    res = lrjax.tucker_hooi(x, 2, weights=weights, maxiter=60, tol=0.0)
    history = np.asarray(res.info.history)
    assert np.all(np.diff(history) <= 1e-10)  # EM is monotone in the weighted error
    model = np.asarray(res.tucker.to_dense())
    want = np.sqrt(np.sum(weights * (x - model) ** 2) / np.sum(weights * x**2))
    np.testing.assert_allclose(float(res.info.error), want, rtol=1e-10)


def test_partial_tucker_with_missing_entries_and_gradients():
    x = np.asarray(random_tucker(jax.random.key(2), (6, 5, 4), (2, 5, 2)).to_dense())
    mask = np.random.default_rng(2).random(x.shape) < 0.8
    res = lrjax.tucker_hooi(np.where(mask, x, 0.0), (2, 2), modes=(0, 2), mask=mask, maxiter=400)
    assert np.linalg.norm(res.tucker.to_dense() - x) / np.linalg.norm(x) < 1e-6
    assert res.tucker.factors[1].shape == (5, 5)

    def loss(x, diff):
        t = lrjax.tucker_hooi(x, 2, mask=mask, maxiter=80, tol=0.0, diff=diff).tucker
        return jnp.sum(jnp.sin(t.to_dense()))

    x = jnp.asarray(x + 0.1 * np.random.default_rng(3).standard_normal(x.shape))
    d = jnp.asarray(np.random.default_rng(4).standard_normal(x.shape))
    fd = (loss(x + 1e-6 * d, "implicit") - loss(x - 1e-6 * d, "implicit")) / 2e-6
    for diff in ("implicit", "unroll"):
        g = jax.grad(loss)(x, diff)
        np.testing.assert_allclose(float(jnp.vdot(g, d)), float(fd), rtol=1e-5)
        assert float(jnp.max(jnp.abs(jnp.where(mask, 0.0, g)))) < 1e-12  # missing: no effect


def test_mask_errors_name_the_argument():
    x = np.ones((4, 3, 2))
    with pytest.raises(ValueError, match="Give `weights` or `mask`, not both"):
        lrjax.tucker_hooi(x, 2, mask=np.ones_like(x), weights=np.ones_like(x))
    with pytest.raises(ValueError, match="`weights` must have the shape of `x`"):
        lrjax.tucker_hooi(x, 2, weights=np.ones((4, 3)))
    with pytest.raises(ValueError, match="`mask`"):
        lrjax.tucker_hooi(x, 2, mask=np.zeros_like(x))
