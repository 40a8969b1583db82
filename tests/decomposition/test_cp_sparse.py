"""CP-ALS of sparse (BCOO) tensors against the dense path on the same data (same key, same
sweeps), a planted sparse low-rank tensor, repeated coordinates, and the jit/vmap/grad
contract."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse

import lrjax
from lrjax.linalg import mttkrp
from lrjax.testing import factor_match_score, random_cp
from tests.conftest import directional_fd

KEY = jax.random.key(1)


def _sparse_data(shape=(8, 7, 6), rank=3, keep=0.4, seed=0):
    """A CP tensor with 60 % of its entries zeroed: sparse, not low rank."""
    x = np.array(random_cp(jax.random.key(seed), shape, rank).to_dense())
    x[np.random.default_rng(seed).random(shape) > keep] = 0.0
    return jnp.asarray(x)


def _planted_sparse(shape=(12, 10, 9), rank=3, seed=0):
    """An exactly rank-``rank`` tensor with sparse factors (so the tensor is sparse too)."""
    rng = np.random.default_rng(seed)
    factors = []
    for n in shape:
        f = rng.uniform(0.5, 1.5, (n, rank)) * (rng.random((n, rank)) < 0.35)
        f[rng.integers(n, size=rank), np.arange(rank)] = 1.0  # no empty column
        factors.append(jnp.asarray(f))
    return lrjax.CPTensor(jnp.ones(rank), tuple(factors))


@pytest.mark.parametrize("shape", [(8, 7, 6), (5, 4, 6, 3)])
def test_sparse_path_follows_the_dense_one(shape):
    x = _sparse_data(shape)
    dense = lrjax.cp_als(x, 3, init="random", key=KEY, maxiter=25, tol=0.0)
    sp = lrjax.cp_als(sparse.BCOO.fromdense(x), 3, init="random", key=KEY, maxiter=25, tol=0.0)
    np.testing.assert_allclose(sp.info.history, dense.info.history, rtol=1e-9)
    np.testing.assert_allclose(sp.cp.to_dense(), dense.cp.to_dense(), atol=1e-9)
    np.testing.assert_allclose(sp.info.error, dense.info.error, rtol=1e-7)


def test_planted_sparse_low_rank_tensor_is_recovered():
    planted = _planted_sparse()
    x = planted.to_dense()
    xs = sparse.BCOO.fromdense(x)
    assert xs.nse < 0.3 * x.size
    res = lrjax.cp_als(xs, 3, init="random", key=jax.random.key(4), maxiter=500, tol=0.0)
    assert float(res.info.error) < 1e-6  # the expansion's floor is about sqrt(eps)
    np.testing.assert_allclose(res.cp.to_dense(), x, atol=1e-8)
    assert factor_match_score(planted, res.cp) > 0.999


def test_repeated_coordinates_add():
    x = _sparse_data()
    xs = sparse.BCOO.fromdense(x)
    half = xs.data[:6] * 0.5
    dup = sparse.BCOO(
        (jnp.concatenate([xs.data, half, half]),
         jnp.concatenate([xs.indices, xs.indices[:6], xs.indices[:6]])),
        shape=xs.shape,
    )  # fmt: skip
    assert not dup.unique_indices
    summed = dup.todense()  # BCOO's own meaning of repeated coordinates
    ref = lrjax.cp_als(summed, 3, init="random", key=KEY, maxiter=10, tol=0.0)
    got = lrjax.cp_als(dup, 3, init="random", key=KEY, maxiter=10, tol=0.0)
    np.testing.assert_allclose(got.info.history, ref.info.history, rtol=1e-9)


def test_mttkrp_of_a_sparse_tensor():
    x = _sparse_data((4, 5, 6, 3))
    fs = [jax.random.normal(jax.random.fold_in(KEY, n), (s, 2)) for n, s in enumerate(x.shape)]
    for mode in range(4):
        np.testing.assert_allclose(
            mttkrp(sparse.BCOO.fromdense(x), fs, mode), mttkrp(x, fs, mode), atol=1e-12
        )


def test_jit_vmap_and_no_recompile_over_values(caplog):
    x = _sparse_data()
    xs = sparse.BCOO.fromdense(x)
    run = lambda v: lrjax.cp_als(
        sparse.BCOO((v, xs.indices), shape=xs.shape), 3, init="random", key=KEY, maxiter=8,
        tol=0.0,
    ).info.error  # fmt: skip
    values = jnp.stack([xs.data, 2.0 * xs.data + 1.0])
    batched = jax.jit(jax.vmap(run))(values)
    np.testing.assert_allclose(batched, [run(v) for v in values], rtol=1e-10)
    run(xs.data)
    new_values = xs.data * 3.0
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        run(new_values)
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]


def test_gradients_in_the_stored_values():
    # unrolled: finite differences of the 15-sweep map
    xs = sparse.BCOO.fromdense(_sparse_data())
    v = jax.random.normal(jax.random.key(7), xs.data.shape)

    def loss(vals, diff="unroll", maxiter=15):
        cp = lrjax.cp_als(
            sparse.BCOO((vals, xs.indices), shape=xs.shape), 3, init="random", key=KEY,
            maxiter=maxiter, tol=0.0, diff=diff,
        ).cp  # fmt: skip
        return jnp.sum(jnp.sin(cp.to_dense()))

    g = jax.jit(jax.grad(loss))(xs.data)
    np.testing.assert_allclose(jnp.sum(g * v), directional_fd(loss, xs.data, v), rtol=1e-5)
    # implicit, at a converged fit: the dense path's derivative on the stored entries
    planted = _planted_sparse()
    dense = planted.to_dense()
    ps = sparse.BCOO.fromdense(dense)

    def dense_loss(x):
        cp = lrjax.cp_als(x, 3, init="random", key=jax.random.key(4), maxiter=300, tol=0.0).cp
        return jnp.sum(jnp.sin(cp.to_dense()))

    def sparse_loss(vals):
        cp = lrjax.cp_als(
            sparse.BCOO((vals, ps.indices), shape=ps.shape), 3, init="random",
            key=jax.random.key(4), maxiter=300, tol=0.0,
        ).cp  # fmt: skip
        return jnp.sum(jnp.sin(cp.to_dense()))

    g_dense = jax.grad(dense_loss)(dense)
    g_sparse = jax.grad(sparse_loss)(ps.data)
    idx = tuple(np.asarray(ps.indices).T)
    np.testing.assert_allclose(g_sparse, g_dense[idx], rtol=1e-5, atol=1e-8)


def test_warm_start_and_bad_input():
    xs = sparse.BCOO.fromdense(_sparse_data())
    first = lrjax.cp_als(xs, 3, init="random", key=KEY, maxiter=4, tol=0.0)
    more = lrjax.cp_als(xs, 3, init=first.cp, maxiter=4, tol=0.0)  # no key needed
    straight = lrjax.cp_als(xs, 3, init="random", key=KEY, maxiter=8, tol=0.0)
    np.testing.assert_allclose(more.info.error, straight.info.error, rtol=1e-9)
    with pytest.raises(ValueError, match=r"init='svd'.*sparse"):
        lrjax.cp_als(xs, 3)
    with pytest.raises(ValueError, match="key"):
        lrjax.cp_als(xs, 3, init="random")
    with pytest.raises(ValueError, match="`mask` is not supported for a sparse"):
        lrjax.cp_als(xs, 3, init="random", key=KEY, mask=jnp.ones(xs.shape, bool))
    with pytest.raises(ValueError, match="`line_search` is not supported"):
        lrjax.cp_als(xs, 3, init="random", key=KEY, line_search=True)
    bad = sparse.BCOO((xs.data.at[0].set(jnp.nan), xs.indices), shape=xs.shape)
    with pytest.raises(ValueError, match="finite"):
        lrjax.cp_als(bad, 3, init="random", key=KEY)
    outside = sparse.BCOO((xs.data, xs.indices.at[0, 2].set(6)), shape=xs.shape)
    with pytest.raises(ValueError, match=r"outside its shape \(8, 7, 6\): mode 2"):
        lrjax.cp_als(outside, 3, init="random", key=KEY)
    batched = sparse.BCOO.fromdense(jnp.stack([xs.todense()] * 2), n_batch=1)
    with pytest.raises(ValueError, match="n_batch"):
        lrjax.cp_als(batched, 3, init="random", key=KEY)


def test_poisson_cp_of_sparse_counts_follows_the_dense_one():
    rng = np.random.default_rng(0)
    rates = 3 * np.einsum(
        "ir,jr,kr->ijk", rng.random((10, 3)) ** 3, rng.random((9, 3)) ** 3, rng.random((8, 3)) ** 3
    )
    x = jnp.asarray(rng.poisson(rates).astype(float))  # about 13 % non-zero counts
    xs = sparse.BCOO.fromdense(x)
    assert xs.nse < 0.2 * x.size
    dense = lrjax.cp_apr(x, 3, key=KEY, maxiter=30, tol=0.0)
    sp = lrjax.cp_apr(xs, 3, key=KEY, maxiter=30, tol=0.0)
    np.testing.assert_allclose(sp.info.history, dense.info.history, rtol=1e-12)
    np.testing.assert_allclose(sp.cp.to_dense(), dense.cp.to_dense(), atol=1e-10)
    np.testing.assert_allclose(sp.info.error, dense.info.error, rtol=1e-7)
    # under jit and vmap over the counts, and differentiable (unrolled) in them
    run = lambda v: lrjax.cp_apr(
        sparse.BCOO((v, xs.indices), shape=xs.shape), 3, key=KEY, maxiter=5, tol=0.0
    ).cp.weights  # fmt: skip
    batch = jnp.stack([xs.data, 2.0 * xs.data])
    np.testing.assert_allclose(jax.jit(jax.vmap(run))(batch), [run(v) for v in batch], rtol=1e-10)
    d = jax.random.uniform(jax.random.key(3), xs.data.shape)
    loss = lambda v: jnp.sum(run(v) ** 2)
    np.testing.assert_allclose(
        jnp.sum(jax.grad(loss)(xs.data) * d), directional_fd(loss, xs.data, d), rtol=1e-6
    )
    with pytest.raises(ValueError, match="non-negative"):
        lrjax.cp_apr(sparse.BCOO((-xs.data, xs.indices), shape=xs.shape), 3, key=KEY)
