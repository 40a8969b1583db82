import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax.tensors import CPTensor, LowRankMatrix, TTTensor, TuckerTensor


def _np(a):
    return np.asarray(a)


def test_cp_to_dense_and_norm_match_numpy(rng):
    w = rng.uniform(1, 2, 3)
    fs = [rng.standard_normal((n, 3)) for n in (4, 5, 6)]
    cp = CPTensor(jnp.asarray(w), tuple(jnp.asarray(f) for f in fs))
    dense = np.einsum("r,ir,jr,kr->ijk", w, *fs)
    np.testing.assert_allclose(_np(cp.to_dense()), dense, rtol=1e-12)
    np.testing.assert_allclose(float(cp.norm()), np.linalg.norm(dense), rtol=1e-12)
    assert cp.shape == (4, 5, 6) and cp.rank == 3 and cp.ndim == 3


def test_tucker_to_dense_and_norm_match_numpy(rng):
    core = rng.standard_normal((2, 3, 4))
    fs = [rng.standard_normal((n, r)) for n, r in zip((5, 6, 7), (2, 3, 4), strict=True)]
    t = TuckerTensor(jnp.asarray(core), tuple(jnp.asarray(f) for f in fs))
    dense = np.einsum("abc,ia,jb,kc->ijk", core, *fs)
    np.testing.assert_allclose(_np(t.to_dense()), dense, rtol=1e-12)
    np.testing.assert_allclose(float(t.norm()), np.linalg.norm(dense), rtol=1e-12)
    assert t.shape == (5, 6, 7) and t.rank == (2, 3, 4)


def test_tt_to_dense_and_norm_match_numpy(rng):
    cores = [rng.standard_normal(s) for s in ((1, 3, 2), (2, 4, 3), (3, 5, 1))]
    tt = TTTensor(tuple(jnp.asarray(c) for c in cores))
    dense = np.einsum("aib,bjc,ckd->ijk", *cores)
    np.testing.assert_allclose(_np(tt.to_dense()), dense, rtol=1e-12)
    np.testing.assert_allclose(float(tt.norm()), np.linalg.norm(dense), rtol=1e-12)
    assert tt.shape == (3, 4, 5) and tt.rank == (1, 2, 3, 1)


def test_low_rank_matrix(rng):
    u, s, vt = rng.standard_normal((5, 2)), rng.uniform(1, 2, 2), rng.standard_normal((2, 7))
    m = LowRankMatrix(jnp.asarray(u), jnp.asarray(s), jnp.asarray(vt))
    np.testing.assert_allclose(_np(m.to_dense()), (u * s) @ vt, rtol=1e-12)
    np.testing.assert_allclose(float(m.norm()), np.linalg.norm((u * s) @ vt), rtol=1e-12)
    assert m.shape == (5, 7) and m.rank == 2


def test_validation_names_factor_and_shapes():
    with pytest.raises(ValueError, match=r"factors\[1\].*\(4, 3\)"):
        CPTensor(jnp.ones(2), (jnp.ones((3, 2)), jnp.ones((4, 3))))
    with pytest.raises(ValueError, match=r"factors\[0\]"):
        TuckerTensor(jnp.ones((2, 2)), (jnp.ones((3, 3)), jnp.ones((3, 2))))
    with pytest.raises(ValueError, match=r"cores\[0\].*cores\[1\]"):
        TTTensor((jnp.ones((1, 3, 2)), jnp.ones((3, 3, 1))))
    with pytest.raises(ValueError, match="boundary"):
        TTTensor((jnp.ones((2, 3, 2)), jnp.ones((2, 3, 1))))
    with pytest.raises(ValueError, match="must agree"):
        LowRankMatrix(jnp.ones((3, 2)), jnp.ones(3), jnp.ones((2, 4)))


def test_containers_are_frozen_pytrees_under_jit_and_vmap(rng):
    cp = CPTensor(jnp.ones(2), (jnp.ones((3, 2)), jnp.ones((4, 2))))
    with pytest.raises(AttributeError):
        cp.weights = jnp.zeros(2)
    leaves, treedef = jax.tree_util.tree_flatten(cp)
    assert len(leaves) == 3
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(back, CPTensor)
    doubled = jax.jit(lambda c: CPTensor(2 * c.weights, c.factors))(cp)
    np.testing.assert_allclose(_np(doubled.to_dense()), 2 * _np(cp.to_dense()))
    batch = jax.vmap(lambda w: CPTensor(w, cp.factors))(jnp.ones((5, 2)))
    assert batch.weights.shape == (5, 2) and batch.rank == 2
    dense = jax.vmap(lambda c: c.to_dense())(batch)
    assert dense.shape == (5, 3, 4)


def test_norm_is_differentiable(rng):
    fs = tuple(jnp.asarray(rng.standard_normal((n, 2))) for n in (3, 4))
    w = jnp.asarray(rng.uniform(1, 2, 2))
    g = jax.grad(lambda w: CPTensor(w, fs).norm())(w)
    g_dense = jax.grad(lambda w: jnp.linalg.norm(CPTensor(w, fs).to_dense()))(w)
    np.testing.assert_allclose(_np(g), _np(g_dense), rtol=1e-10)
