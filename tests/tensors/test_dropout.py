"""tensor_dropout: TensorLy-Torch's test_tensor_dropout re-told, and the dense tensor of a draw
against the tensor of the kept components sliced out (TensorLy-Torch's form)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax.tensors import CPTensor, TTTensor, TuckerTensor, tensor_dropout
from lrjax.testing import random_cp, random_tt, random_tucker


def _kept(a, axis):
    """Indices along ``axis`` where ``a`` has a nonzero slice."""
    other = tuple(i for i in range(a.ndim) if i != axis)
    return np.flatnonzero(np.abs(np.asarray(a)).sum(axis=other) > 0)


def test_rate_one_keeps_one_component_and_rate_zero_keeps_all():
    """TensorLy-Torch's tests: Tucker (7, 8, 9) -> (1, 1, 1), CP rank 8 -> 1, TT ranks 4 -> 1."""
    key = jax.random.key(0)
    tucker = random_tucker(key, (10, 11, 12), (7, 8, 9))
    cp = random_cp(key, (10, 11, 12), 8)
    tt = random_tt(key, (10, 11, 12), 4)
    d = tensor_dropout(tucker, 1.0, key=jax.random.key(1))
    assert [len(_kept(d.core, n)) for n in range(3)] == [1, 1, 1]
    assert int(jnp.sum(tensor_dropout(cp, 1.0, key=jax.random.key(1)).weights != 0)) == 1
    d = tensor_dropout(tt, 1.0, key=jax.random.key(1))
    assert [len(_kept(c, 2)) for c in d.cores] == [1, 1, 1]
    for t in (tucker, cp, tt):
        same = tensor_dropout(t, 0.0, key=jax.random.key(2))
        np.testing.assert_array_equal(same.to_dense(), t.to_dense())


def test_a_draw_equals_the_sliced_tensor_of_its_kept_components():
    key = jax.random.key(3)
    tucker = random_tucker(key, (6, 5, 4), (4, 3, 3))
    d = tensor_dropout(tucker, 0.5, key=jax.random.key(4))
    idx = [_kept(d.core, n) for n in range(3)]
    sliced = TuckerTensor(
        tucker.core[np.ix_(*idx)], tuple(f[:, i] for f, i in zip(tucker.factors, idx, strict=True))
    )
    np.testing.assert_allclose(d.to_dense(), sliced.to_dense(), atol=1e-12)
    cp = random_cp(key, (6, 5, 4), 6)
    d = tensor_dropout(cp, 0.5, key=jax.random.key(5))
    i = np.flatnonzero(np.asarray(d.weights) != 0)
    sliced = CPTensor(cp.weights[i], tuple(f[:, i] for f in cp.factors))
    np.testing.assert_allclose(d.to_dense(), sliced.to_dense(), atol=1e-12)
    tt = random_tt(key, (6, 5, 4), 4)
    d = tensor_dropout(tt, 0.5, key=jax.random.key(6))
    bonds = [_kept(c, 2) for c in d.cores[:-1]]
    cores = [
        tt.cores[0][:, :, bonds[0]],
        tt.cores[1][bonds[0]][:, :, bonds[1]],
        tt.cores[2][bonds[1]],
    ]
    np.testing.assert_allclose(d.to_dense(), TTTensor(tuple(cores)).to_dense(), atol=1e-12)


def test_drop_frequency_min_dim_and_batching():
    cp = random_cp(jax.random.key(0), (3, 4), 50)
    draws = jax.vmap(lambda k: tensor_dropout(cp, 0.3, key=k).weights != 0)(
        jax.random.split(jax.random.key(1), 200)
    )
    assert abs(float(1 - jnp.mean(draws)) - 0.3) < 0.02
    small = random_tucker(jax.random.key(2), (5, 5), (1, 4))
    d = tensor_dropout(small, 1.0, key=jax.random.key(3), min_dim=4)
    np.testing.assert_array_equal(d.to_dense(), small.to_dense())  # ranks <= 4: untouched
    g = jax.grad(lambda c: jnp.sum(tensor_dropout(c, 0.5, key=jax.random.key(4)).to_dense()))(cp)
    kept = np.asarray(tensor_dropout(cp, 0.5, key=jax.random.key(4)).weights != 0)
    assert np.all(np.asarray(g.weights)[~kept] == 0) and np.all(np.asarray(g.weights)[kept] != 0)


def test_bad_arguments_are_named():
    cp = random_cp(jax.random.key(0), (3, 4), 2)
    with pytest.raises(ValueError, match="`rate` must be in"):
        tensor_dropout(cp, 1.5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="`key`"):
        tensor_dropout(cp, 0.5, key=0)
    with pytest.raises(TypeError, match="`tensor` must be a CPTensor"):
        tensor_dropout(jnp.ones((3, 4)), 0.5, key=jax.random.key(0))
