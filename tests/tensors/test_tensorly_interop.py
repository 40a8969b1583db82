"""The TensorLy round trip: lrjax containers into TensorLy's functions, TensorLy's objects into
lrjax's routines, and the object API TensorLy users expect, all against TensorLy itself."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.tensors import CPTensor, TTTensor, TuckerTensor

tl = pytest.importorskip("tensorly")


@pytest.fixture
def cp(rng):
    return CPTensor(
        jnp.asarray(rng.uniform(1, 2, 3)),
        tuple(jnp.asarray(rng.standard_normal((n, 3))) for n in (4, 5, 6)),
    )


@pytest.fixture
def tucker(rng):
    return TuckerTensor(
        jnp.asarray(rng.standard_normal((2, 3, 2))),
        tuple(
            jnp.asarray(rng.standard_normal((n, r)))
            for n, r in zip((4, 5, 6), (2, 3, 2), strict=True)
        ),
    )


@pytest.fixture
def tt(rng):
    full = (1, 2, 3, 1)
    return TTTensor(
        tuple(jnp.asarray(rng.standard_normal((full[k], n, full[k + 1])))
              for k, n in enumerate((4, 5, 6)))
    )  # fmt: skip


def test_lrjax_containers_go_into_tensorly(cp, tucker, tt):
    np.testing.assert_allclose(tl.cp_to_tensor(cp), np.asarray(cp.to_dense()), rtol=1e-12)
    np.testing.assert_allclose(tl.tucker_to_tensor(tucker), np.asarray(tucker.to_dense()),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(tl.tt_to_tensor(tt), np.asarray(tt.to_dense()), rtol=1e-12)
    np.testing.assert_allclose(tl.cp_norm(cp), float(cp.norm()), rtol=1e-12)
    weights, factors = cp
    assert weights is cp.weights and factors is cp.factors and len(cp) == 2
    core, tucker_factors = tucker
    assert core is tucker.core and tucker_factors is tucker.factors
    assert len(tt) == 3 and tt[1] is tt.cores[1] and list(tt) == list(tt.cores)


def test_tensorly_objects_convert_and_go_into_lrjax(rng):
    tl_cp = tl.random.random_cp((4, 5, 6), 2, random_state=0)
    tl_tucker = tl.random.random_tucker((4, 5, 6), (2, 2, 2), random_state=0)
    tl_tt = tl.random.random_tt((4, 5, 6), (1, 2, 2, 1), random_state=0)
    np.testing.assert_allclose(np.asarray(CPTensor(*tl_cp).to_dense()), tl.cp_to_tensor(tl_cp),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.asarray(TuckerTensor(*tl_tucker).to_dense()),
                               tl.tucker_to_tensor(tl_tucker), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.asarray(TTTensor(tuple(tl_tt)).to_dense()),
                               tl.tt_to_tensor(tl_tt), rtol=1e-12)  # fmt: skip
    # a TensorLy factorized tensor stands for its dense tensor wherever lrjax takes a tensor
    fit = lrjax.cp_als(tl_cp, 2, maxiter=300)
    same = lrjax.cp_als(jnp.asarray(tl.cp_to_tensor(tl_cp)), 2, maxiter=300)
    np.testing.assert_allclose(np.asarray(fit.cp.to_dense()), np.asarray(same.cp.to_dense()))
    assert float(fit.info.error) < 1e-4
    fit = lrjax.tucker_hooi(tl_tucker, (2, 2, 2))
    assert float(fit.info.error) < 1e-10
    fit = lrjax.tt_svd(tl_tt, 2)
    np.testing.assert_allclose(np.asarray(fit.to_dense()), tl.tt_to_tensor(tl_tt), atol=1e-10)
    np.testing.assert_allclose(
        np.asarray(lrjax.linalg.unfold(tl_cp, 1)), tl.unfold(tl.cp_to_tensor(tl_cp), 1)
    )


def test_object_api_matches_tensorly(cp, tucker, tt):
    for t in (cp, tucker, tt):
        dense = np.asarray(t.to_dense())
        np.testing.assert_allclose(np.asarray(t.to_tensor()), dense)
        np.testing.assert_allclose(np.asarray(t.to_vec()), tl.tensor_to_vec(dense))
        for mode in range(3):
            np.testing.assert_allclose(np.asarray(t.to_unfolded(mode)), tl.unfold(dense, mode))
        np.testing.assert_allclose(np.asarray(t.to_unfolded(-1)), tl.unfold(dense, 2))
        with pytest.raises(ValueError, match="`mode`"):
            t.to_unfolded(3)
    # normalize: TensorLy's cp_normalize / tucker_normalize
    tl_w, tl_f = tl.cp_normalize((np.asarray(cp.weights), [np.asarray(f) for f in cp.factors]))
    ours = cp.normalize()
    np.testing.assert_allclose(np.asarray(ours.weights), tl_w, rtol=1e-12)
    for a, b in zip(ours.factors, tl_f, strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-12)
    tl_core, tl_tf = tl.tucker_tensor.tucker_normalize(
        (np.asarray(tucker.core), [np.asarray(f) for f in tucker.factors])
    )
    ours = tucker.normalize()
    np.testing.assert_allclose(np.asarray(ours.core), tl_core, rtol=1e-12)
    for a, b in zip(ours.factors, tl_tf, strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.to_dense()), np.asarray(tucker.to_dense()))


def test_cp_components_and_indexing(cp):
    dense_of = lambda w, fs: np.einsum("r,ir,jr,kr->ijk", w, *fs)
    w, fs = np.asarray(cp.weights), [np.asarray(f) for f in cp.factors]
    one = cp.components(1)
    assert one.rank == 1
    np.testing.assert_allclose(np.asarray(one.to_dense()),
                               dense_of(w[1:2], [f[:, 1:2] for f in fs]))  # fmt: skip
    last = cp.components(-1)
    np.testing.assert_allclose(np.asarray(last.weights), w[-1:])
    pick = cp.components(np.array([2, 0]))
    np.testing.assert_allclose(np.asarray(pick.to_dense()),
                               dense_of(w[[2, 0]], [f[:, [2, 0]] for f in fs]))  # fmt: skip
    mask = cp.components(np.array([True, False, True]))
    assert mask.rank == 2
    total = sum(np.asarray(cp.components(r).to_dense()) for r in range(3))
    np.testing.assert_allclose(total, np.asarray(cp.to_dense()), rtol=1e-12)
    assert cp[0] is cp.weights and cp[1] is cp.factors
    with pytest.raises(IndexError, match="components"):
        cp[2]
    with pytest.raises(IndexError, match="out of range"):
        cp.components(3)


def test_object_api_runs_under_jit_and_grad(cp):
    f = jax.jit(lambda c: jnp.sum(c.normalize().components(slice(0, 2)).to_unfolded(1) ** 2))
    g = jax.grad(f)(cp)
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree.leaves(g))
    h = 1e-6
    v = jax.tree.map(lambda leaf: jnp.ones_like(leaf), cp)
    plus = jax.tree.map(lambda a, b: a + h * b, cp, v)
    minus = jax.tree.map(lambda a, b: a - h * b, cp, v)
    fd = (float(f(plus)) - float(f(minus))) / (2 * h)
    directional = sum(
        float(jnp.sum(a * b)) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(v), strict=True)
    )
    np.testing.assert_allclose(directional, fd, rtol=1e-6)
