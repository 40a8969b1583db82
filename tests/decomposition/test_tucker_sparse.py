"""Tucker HOOI of sparse (BCOO) tensors against the dense path (same random start, same
sweeps), a planted sparse Tucker tensor, and the jit/vmap/grad contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse

import lrjax
from tests.conftest import directional_fd

KEY = jax.random.key(0)


def _sparse_data(shape=(9, 8, 7), keep=0.3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    x[rng.random(shape) > keep] = 0.0
    return jnp.asarray(x)


@pytest.mark.parametrize(("shape", "ranks"), [((9, 8, 7), (3, 2, 2)), ((6, 5, 4, 5), (2, 3, 2, 2))])
def test_sparse_path_follows_the_dense_one(shape, ranks):
    x = _sparse_data(shape)
    dense = lrjax.tucker_hooi(x, ranks, init="random", key=KEY, maxiter=10, tol=0.0)
    sp = lrjax.tucker_hooi(
        sparse.BCOO.fromdense(x), ranks, init="random", key=KEY, maxiter=10, tol=0.0
    )
    np.testing.assert_allclose(sp.info.history, dense.info.history, rtol=1e-10)
    np.testing.assert_allclose(sp.tucker.to_dense(), dense.tucker.to_dense(), atol=1e-10)
    for a, b in zip(sp.tucker.factors, dense.tucker.factors, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)  # the same sign-fixed factors


def test_planted_sparse_tucker_tensor_is_recovered():
    # factors with disjoint supports: the tensor is sparse (9 % of entries) and of ranks 2
    u = [jnp.zeros((n, 2)).at[: n // 3, 0].set(1.0).at[n // 3 : 2 * n // 3, 1].set(1.0)
         for n in (12, 9, 15)]  # fmt: skip
    core = jax.random.normal(KEY, (2, 2, 2))
    x = lrjax.TuckerTensor(core, tuple(u)).to_dense()
    xs = sparse.BCOO.fromdense(x)
    assert xs.nse < 0.35 * x.size
    res = lrjax.tucker_hooi(xs, 2, init="random", key=jax.random.key(3), maxiter=20)
    np.testing.assert_allclose(res.tucker.to_dense(), x, atol=1e-9)
    assert float(res.info.error) < 1e-6  # ||X||² − ||G||²: about sqrt(eps) at best


def test_jit_vmap_grad_over_the_values_and_warm_start():
    xs = sparse.BCOO.fromdense(_sparse_data())

    def run(v, diff="unroll"):
        return lrjax.tucker_hooi(
            sparse.BCOO((v, xs.indices), shape=xs.shape), (3, 2, 2), init="random", key=KEY,
            maxiter=6, tol=0.0, diff=diff,
        ).tucker  # fmt: skip

    batch = jnp.stack([xs.data, xs.data**2])
    got = jax.jit(jax.vmap(lambda v: run(v).to_dense()))(batch)
    for i in range(2):
        np.testing.assert_allclose(got[i], run(batch[i]).to_dense(), atol=1e-10)
    loss = lambda v: jnp.sum(jnp.sin(run(v).to_dense()))
    d = jax.random.normal(jax.random.key(5), xs.data.shape)
    g = jax.jit(jax.grad(loss))(xs.data)
    np.testing.assert_allclose(jnp.sum(g * d), directional_fd(loss, xs.data, d), rtol=1e-5)
    first = lrjax.tucker_hooi(xs, (3, 2, 2), init="random", key=KEY, maxiter=3, tol=0.0)
    more = lrjax.tucker_hooi(xs, (3, 2, 2), init=first.tucker, maxiter=3, tol=0.0)
    straight = lrjax.tucker_hooi(xs, (3, 2, 2), init="random", key=KEY, maxiter=6, tol=0.0)
    np.testing.assert_allclose(more.tucker.to_dense(), straight.tucker.to_dense(), atol=1e-10)


def test_bad_input():
    xs = sparse.BCOO.fromdense(_sparse_data())
    with pytest.raises(ValueError, match=r"init='svd'.*sparse"):
        lrjax.tucker_hooi(xs, 2)
    with pytest.raises(ValueError, match="key"):
        lrjax.tucker_hooi(xs, 2, init="random")
    with pytest.raises(ValueError, match="`modes` and `fixed` are not supported"):
        lrjax.tucker_hooi(xs, 2, modes=(0, 1), init="random", key=KEY)
    with pytest.raises(ValueError, match=r"ranks\[0\]"):
        lrjax.tucker_hooi(xs, (10, 2, 2), init="random", key=KEY)
