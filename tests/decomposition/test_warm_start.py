"""Warm starts (``init=`` an earlier result) of cp_als, cp_opt, cp_nonneg, tucker_hooi, nmf.

Oracle: an uninterrupted run. For the solvers whose state is the canonical result itself
(CP-ALS, HOOI, NMF), ``k`` sweeps then ``l`` more from the result equal ``k + l`` sweeps; the
others must reach the cold run's fit. Plus the traced contract (jit, vmap, grad, no new compile
for a new start) and the errors.
"""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.cp_tensor import CPTensor as TensorlyCP
from tensorly.tucker_tensor import TuckerTensor as TensorlyTucker

import lrjax
from lrjax.testing import random_cp
from tests.conftest import directional_fd

KEY = jax.random.key(0)


def _noisy_cp(shape=(6, 5, 4), rank=3, noise=1e-3, seed=1):
    k1, k2 = jax.random.split(jax.random.key(seed))
    x = random_cp(k1, shape, rank).to_dense()
    return x + noise * jax.random.normal(k2, shape)


def test_cp_als_resumes_where_it_stopped():
    x = _noisy_cp()
    first = lrjax.cp_als(x, 3, maxiter=4, tol=0.0)
    resumed = lrjax.cp_als(x, 3, init=first.cp, maxiter=6, tol=0.0)
    straight = lrjax.cp_als(x, 3, maxiter=10, tol=0.0)
    assert float(first.info.error) > 3 * float(straight.info.error)  # not converged at 4
    np.testing.assert_allclose(resumed.info.error, straight.info.error, rtol=1e-10)
    np.testing.assert_allclose(resumed.cp.to_dense(), straight.cp.to_dense(), atol=1e-10)
    # TensorLy's CPTensor is taken as it is; so is the weighted (mask) objective
    tl_cp = TensorlyCP((np.asarray(first.cp.weights), [np.asarray(f) for f in first.cp.factors]))
    from_tl = lrjax.cp_als(x, 3, init=tl_cp, maxiter=6, tol=0.0)
    np.testing.assert_allclose(from_tl.info.error, straight.info.error, rtol=1e-10)
    mask = jax.random.uniform(jax.random.key(3), x.shape) < 0.8
    m4 = lrjax.cp_als(x, 3, mask=mask, maxiter=4, tol=0.0)
    m10 = lrjax.cp_als(x, 3, mask=mask, maxiter=10, tol=0.0)
    m_resumed = lrjax.cp_als(x, 3, mask=mask, init=m4.cp, maxiter=6, tol=0.0)
    np.testing.assert_allclose(m_resumed.info.error, m10.info.error, rtol=1e-10)


def test_cp_als_warm_start_needs_no_key_beyond_the_mode_sizes():
    x = jax.random.normal(jax.random.key(2), (3, 4, 5))
    with pytest.raises(ValueError, match="key"):
        lrjax.cp_als(x, 6)
    cold = lrjax.cp_als(x, 6, key=KEY, maxiter=3)
    warm = lrjax.cp_als(x, 6, init=cold.cp, maxiter=3)  # no key needed
    assert float(warm.info.error) <= float(cold.info.error) + 1e-12


def test_cp_opt_from_a_near_solution_reaches_the_cold_fit():
    x = _noisy_cp()
    cold = lrjax.cp_opt(x, 3)
    rough = lrjax.cp_opt(x, 3, maxiter=2, tol=0.0)
    warm = lrjax.cp_opt(x, 3, init=rough.cp)
    np.testing.assert_allclose(warm.info.error, cold.info.error, rtol=1e-6)
    # started at the optimum, L-BFGS stays there
    at_opt = lrjax.cp_opt(x, 3, init=cold.cp, method="lbfgs", maxiter=5)
    np.testing.assert_allclose(at_opt.info.error, cold.info.error, rtol=1e-6)


def test_cp_nonneg_from_the_planted_factors_stays_exact():
    planted = lrjax.CPTensor(
        jnp.ones(2),
        tuple(
            jax.random.uniform(k, (n, 2), minval=0.1)
            for k, n in zip(jax.random.split(KEY, 3), (6, 5, 4), strict=True)
        ),
    )
    x = planted.to_dense()
    res = lrjax.cp_nonneg(x, 2, init=planted, maxiter=3, tol=0.0)  # no key needed
    assert float(res.info.error) < 1e-12
    cold = lrjax.cp_nonneg(x, 2, key=KEY, maxiter=3, tol=0.0)
    assert float(cold.info.error) > 1e-4  # a random start is not there after 3 sweeps
    with pytest.raises(ValueError, match="non-negative"):
        lrjax.cp_nonneg(x, 2, init=lrjax.CPTensor(-planted.weights, planted.factors))
    with pytest.raises(ValueError, match="key"):
        lrjax.cp_nonneg(x, 2)


def test_tucker_hooi_resumes_where_it_stopped():
    y = jax.random.normal(jax.random.key(5), (8, 7, 6))
    first = lrjax.tucker_hooi(y, (3, 3, 2), maxiter=2, tol=0.0)
    resumed = lrjax.tucker_hooi(y, (3, 3, 2), init=first.tucker, maxiter=3, tol=0.0)
    straight = lrjax.tucker_hooi(y, (3, 3, 2), maxiter=5, tol=0.0)
    np.testing.assert_allclose(resumed.info.error, straight.info.error, rtol=1e-12)
    np.testing.assert_allclose(resumed.tucker.to_dense(), straight.tucker.to_dense(), atol=1e-10)
    # only the factors' ranges matter: U R (R invertible) starts HOOI where U does
    r = jnp.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 3.0]])
    skewed = lrjax.TuckerTensor(
        first.tucker.core,
        (first.tucker.factors[0] @ r, first.tucker.factors[1] @ r.T, first.tucker.factors[2]),
    )
    from_skewed = lrjax.tucker_hooi(y, (3, 3, 2), init=skewed, maxiter=3, tol=0.0)
    np.testing.assert_allclose(
        from_skewed.tucker.to_dense(), straight.tucker.to_dense(), atol=1e-10
    )
    as_tl = TensorlyTucker(
        (np.asarray(first.tucker.core), [np.asarray(u) for u in first.tucker.factors])
    )
    from_tl = lrjax.tucker_hooi(y, (3, 3, 2), init=as_tl, maxiter=3, tol=0.0)
    np.testing.assert_allclose(from_tl.info.error, straight.info.error, rtol=1e-12)


def test_partial_and_fixed_tucker_resume():
    y = jax.random.normal(jax.random.key(6), (8, 7, 6))
    first = lrjax.tucker_hooi(y, (3, 2), modes=(0, 2), maxiter=2, tol=0.0)
    resumed = lrjax.tucker_hooi(y, (3, 2), modes=(0, 2), init=first.tucker, maxiter=3, tol=0.0)
    straight = lrjax.tucker_hooi(y, (3, 2), modes=(0, 2), maxiter=5, tol=0.0)
    np.testing.assert_allclose(resumed.tucker.to_dense(), straight.tucker.to_dense(), atol=1e-10)
    u1 = jnp.linalg.qr(jax.random.normal(jax.random.key(7), (7, 3)))[0]
    fixed = {1: u1}
    f_first = lrjax.tucker_hooi(y, 3, fixed=fixed, maxiter=2, tol=0.0)
    f_resumed = lrjax.tucker_hooi(y, 3, fixed=fixed, init=f_first.tucker, maxiter=3, tol=0.0)
    f_straight = lrjax.tucker_hooi(y, 3, fixed=fixed, maxiter=5, tol=0.0)
    np.testing.assert_allclose(f_resumed.info.error, f_straight.info.error, rtol=1e-12)
    np.testing.assert_allclose(f_resumed.tucker.factors[1], u1)  # the fixed factor stays


def test_nmf_resumes_where_it_stopped():
    m = jnp.abs(jax.random.normal(jax.random.key(7), (12, 9)))
    first = lrjax.nmf(m, 3, key=KEY, maxiter=5, tol=0.0)
    straight = lrjax.nmf(m, 3, key=KEY, maxiter=10, tol=0.0)
    for start in (first, (first.w, first.h)):  # the result itself, or the pair
        resumed = lrjax.nmf(m, 3, init=start, maxiter=5, tol=0.0)
        np.testing.assert_allclose(resumed.w @ resumed.h, straight.w @ straight.h, atol=1e-12)


def test_a_new_start_is_traced_jit_vmap_and_grad():
    x = _noisy_cp()
    start = lrjax.cp_als(x, 3, maxiter=3, tol=0.0).cp
    other = lrjax.cp_als(1.1 * x, 3, maxiter=3, tol=0.0).cp
    # jit(vmap) over data and starts equals the eager loop
    xs = jnp.stack([x, 1.1 * x])
    starts = jax.tree.map(lambda a, b: jnp.stack([a, b]), start, other)
    batched = jax.jit(
        jax.vmap(lambda x, s: lrjax.cp_als(x, 3, init=s, maxiter=5, tol=0.0).info.error)
    )(xs, starts)
    loop = [lrjax.cp_als(xs[i], 3, init=s, maxiter=5, tol=0.0).info.error
            for i, s in enumerate((start, other))]  # fmt: skip
    np.testing.assert_allclose(batched, loop, rtol=1e-10)

    # unrolled, the derivative reaches the start (finite differences in a factor)
    def loss(f0):
        s = lrjax.CPTensor(start.weights, (f0, *start.factors[1:]))
        return lrjax.cp_als(x, 3, init=s, maxiter=2, tol=0.0, diff="unroll").info.error

    v = jax.random.normal(jax.random.key(9), start.factors[0].shape)
    g = jax.jit(jax.grad(loss))(start.factors[0])
    np.testing.assert_allclose(jnp.sum(g * v), directional_fd(loss, start.factors[0], v), rtol=1e-5)


def test_a_new_start_compiles_nothing_new(caplog):
    y = jax.random.normal(jax.random.key(5), (8, 7, 6))
    t = lrjax.tucker_hooi(y, 2, maxiter=2, tol=0.0).tucker
    lrjax.tucker_hooi(y, 2, init=t, maxiter=2)
    again = lrjax.TuckerTensor(t.core, tuple(jnp.roll(u, 1, axis=0) for u in t.factors))
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        lrjax.tucker_hooi(y, 2, init=again, maxiter=2)
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]


def test_bad_warm_starts_are_named():
    x = _noisy_cp()
    cp = lrjax.cp_als(x, 3, maxiter=2).cp
    with pytest.raises(ValueError, match=r"`init` must be a CPTensor of shape \(6, 5, 4\)"):
        lrjax.cp_als(x, 2, init=cp)
    with pytest.raises(ValueError, match=r"`init.factors\[1\]` must be finite"):
        bad = lrjax.CPTensor(cp.weights, (cp.factors[0], cp.factors[1] * jnp.nan, cp.factors[2]))
        lrjax.cp_opt(x, 3, init=bad)
    with pytest.raises(ValueError, match="init"):
        lrjax.cp_als(x, 3, init=tl.ones((6, 5, 4)))
    t = lrjax.tucker_hooi(x, 2, maxiter=2).tucker
    with pytest.raises(ValueError, match=r"`init` must be a TuckerTensor .* ranks \(3, 2, 2\)"):
        lrjax.tucker_hooi(x, (3, 2, 2), init=t)
    m = jnp.ones((4, 3))
    with pytest.raises(ValueError, match=r"shapes \(4, 2\) and \(2, 3\)"):
        lrjax.nmf(m, 2, init=(jnp.ones((4, 2)), jnp.ones((3, 2))))
    with pytest.raises(ValueError, match=r"`init\[1\]` must be non-negative"):
        lrjax.nmf(m, 2, init=(jnp.ones((4, 2)), -jnp.ones((2, 3))))
    with pytest.raises(ValueError, match="key"):
        lrjax.nmf(m, 2)


def test_integer_rank_arrays_and_zero_one_masks_are_accepted():
    x = _noisy_cp()
    as_array = lrjax.tucker_hooi(x, np.array([3, 2, 2]), maxiter=3)
    as_tuple = lrjax.tucker_hooi(x, (3, 2, 2), maxiter=3)
    np.testing.assert_allclose(as_array.tucker.to_dense(), as_tuple.tucker.to_dense())
    assert lrjax.tt_svd(x, jnp.array([1, 2, 2, 1])).rank == (1, 2, 2, 1)
    with pytest.raises(ValueError, match="ranks"):
        lrjax.tucker_hooi(x, np.array([3.0, 2.0, 2.0]))
    mask = jax.random.uniform(jax.random.key(4), x.shape) < 0.7
    boolean = lrjax.cp_als(x, 3, mask=mask, maxiter=5, tol=0.0)
    numeric = lrjax.cp_als(x, 3, mask=mask.astype(np.int8), maxiter=5, tol=0.0)
    np.testing.assert_allclose(numeric.info.error, boolean.info.error, rtol=1e-12)
    with pytest.raises(ValueError, match="`mask` must be boolean or 0/1"):
        lrjax.cp_als(x, 3, mask=0.5 * mask)
    y = jax.random.normal(jax.random.key(8), (6, 3))
    with pytest.raises(ValueError, match="`mask_y` must be boolean or 0/1"):
        lrjax.cmtf(x, y, 2, mask_y=jnp.full(y.shape, 0.5))


def test_nan_may_mark_the_missing_entries():
    """Missing data often arrive as NaN: where the mask (weight) is 0 the value is not read,
    so NaN there gives the result of any finite fill; NaN at an observed entry is an error."""
    rng = np.random.default_rng(0)
    x = np.asarray(random_cp(jax.random.key(1), (6, 5, 4), 2).to_dense())
    mask = rng.random(x.shape) > 0.2
    gaps, filled = np.where(mask, x, np.nan), np.where(mask, x, 7.0)
    for fit in (
        lambda t: lrjax.cp_als(t, 2, mask=mask, maxiter=30).cp.to_dense(),
        lambda t: lrjax.cp_opt(t, 2, mask=mask, key=jax.random.key(0), maxiter=10).cp.to_dense(),
    ):
        np.testing.assert_array_equal(fit(gaps), fit(filled))
    m, w = x[:, :, 0], mask[:, :, 0].astype(float)
    got = lrjax.wlra(np.where(w > 0, m, np.nan), w, 2).approx.to_dense()
    want = lrjax.wlra(np.where(w > 0, m, -3.0), w, 2).approx.to_dense()
    np.testing.assert_array_equal(got, want)
    bad = gaps.copy()
    bad[tuple(i[0] for i in np.nonzero(mask))] = np.nan  # an observed entry
    with pytest.raises(ValueError, match=r"`x \(observed entries\)` must be finite"):
        lrjax.cp_als(bad, 2, mask=mask)
    with pytest.raises(ValueError, match="`x` must be finite"):
        lrjax.cp_als(gaps, 2)
