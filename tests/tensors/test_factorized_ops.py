"""Operations on factorized tensors without the dense tensor: TensorLy's test_cp_tensor
(cp_mode_dot, cp_flip_sign, cp_permute_factors), test_tucker_tensor (tucker_mode_dot) and
metrics test_factors (congruence_coefficient), re-told against lrjax."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.cp_tensor import cp_flip_sign as tl_cp_flip_sign
from tensorly.metrics import congruence_coefficient as tl_congruence
from tensorly.random import random_cp as tl_random_cp

import lrjax
from lrjax.linalg import mode_dot
from lrjax.metrics import congruence_coefficient
from lrjax.tensors import cp_permute_factors
from lrjax.testing import random_cp, random_tt, random_tucker


@pytest.mark.parametrize("make", ["cp", "tucker"])
def test_mode_dot_with_a_matrix_or_a_vector_stays_factorized(make):
    """TensorLy's test_cp_mode_dot / test_tucker_mode_dot: the same as mode_dot on the dense
    tensor, the container unchanged, and a vector removes the mode."""
    rng = np.random.default_rng(12345)
    shape = (5, 4, 6)
    t = (
        random_cp(jax.random.key(0), shape, 3)
        if make == "cp"
        else random_tucker(jax.random.key(0), shape, (2, 3, 2))
    )
    full = np.asarray(t.to_dense())
    matrix, vec = rng.random((7, shape[1])), rng.random(shape[2])
    res = t.mode_dot(matrix, 1)
    assert type(res) is type(t) and res.shape == (5, 7, 6)
    np.testing.assert_allclose(res.to_dense(), mode_dot(full, matrix, 1), atol=1e-12)
    np.testing.assert_array_equal(t.to_dense(), full)  # nothing the user gave is changed
    res = t.mode_dot(vec, 2)
    assert res.shape == (5, 4)
    np.testing.assert_allclose(res.to_dense(), mode_dot(full, vec, 2), atol=1e-12)
    res = jax.jit(lambda t, v: t.mode_dot(v, -1))(t, jnp.asarray(vec))  # traced, negative mode
    np.testing.assert_allclose(res.to_dense(), mode_dot(full, vec, 2), atol=1e-12)
    with pytest.raises(ValueError, match="`matrix_or_vector` must have shape"):
        t.mode_dot(np.ones((7, 5)), 1)
    with pytest.raises(ValueError, match="`mode` must be an integer"):
        t.mode_dot(vec, 3)


def test_flip_sign_matches_tensorly():
    cp = tl_random_cp((3, 4, 5), 4, random_state=0)
    cp.weights = cp.weights * np.array([1.0, -1.0, 1.0, -1.0])
    cp.factors = [f - 0.5 for f in cp.factors]
    want = tl_cp_flip_sign(cp.cp_copy())
    got = lrjax.CPTensor(*cp).flip_sign()
    np.testing.assert_allclose(got.weights, want.weights, atol=1e-12)
    for a, b in zip(got.factors, want.factors, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(got.to_dense(), tl.cp_to_tensor(cp), atol=1e-12)
    assert np.all(np.mean(np.asarray(got.factors[1]), axis=0) > 0)
    again = lrjax.CPTensor(*cp).flip_sign(mode=2)
    assert np.all(np.mean(np.asarray(again.factors[0]), axis=0) > 0)
    np.testing.assert_allclose(again.to_dense(), tl.cp_to_tensor(cp), atol=1e-12)


@pytest.mark.parametrize(
    ("size", "rank", "absolute_value"), itertools.product((1, 3, 10), (1, 3, 5), (True, False))
)
def test_congruence_coefficient_is_the_best_permutation(size, rank, absolute_value):
    """TensorLy's test_congruence_coefficient: against an exhaustive search and TensorLy."""
    rng = np.random.RandomState(1234)
    a, b = rng.standard_normal((size, rank)), rng.standard_normal((size, rank))
    score, perm = congruence_coefficient(a, b, absolute_value=absolute_value)
    c = (a / np.linalg.norm(a, axis=0)).T @ (b / np.linalg.norm(b, axis=0))
    c = np.abs(c) if absolute_value else c
    best = max(
        itertools.permutations(range(rank)), key=lambda p: sum(c[i, p[i]] for i in range(rank))
    )
    np.testing.assert_allclose(float(score), np.mean(c[np.arange(rank), list(best)]), rtol=1e-12)
    want_score, want_perm = tl_congruence(a, b, absolute_value=absolute_value)
    np.testing.assert_allclose(float(score), want_score, rtol=1e-12)
    if size != 1:
        assert perm.tolist() == list(best) == list(want_perm)


def test_permute_factors_recovers_the_component_order():
    """TensorLy's test_cp_permute_factors and issue #487 (sign flips on top of the order)."""
    ref = random_cp(jax.random.key(0), (3, 4, 5), 4)
    order = [3, 1, 2, 0]
    flipped = lrjax.CPTensor(
        ref.weights[jnp.array(order)],
        tuple(f[:, order] * (-1) ** (k + 1) for k, f in enumerate(ref.factors)),
    )
    out, perms = cp_permute_factors(ref, flipped)
    assert perms[0].tolist() == order
    np.testing.assert_allclose(out.to_dense(), flipped.to_dense(), atol=1e-12)
    np.testing.assert_allclose(np.abs(out.factors[0]), np.abs(ref.factors[0]), atol=1e-12)
    second = lrjax.CPTensor(
        ref.weights[jnp.array([1, 0, 3, 2])], tuple(f[:, [1, 0, 3, 2]] for f in ref.factors)
    )
    outs, perms = cp_permute_factors(ref, [flipped, second])
    assert [p.tolist() for p in perms] == [order, [1, 0, 3, 2]]
    np.testing.assert_allclose(outs[1].to_dense(), ref.to_dense(), atol=1e-12)
    # under jit and vmap (a host callback per problem)
    batch = jax.tree.map(lambda a, b: jnp.stack([a, b]), flipped, second)
    got = jax.jit(jax.vmap(lambda t: cp_permute_factors(ref, t)[1][0]))(batch)
    assert got.tolist() == [order, [1, 0, 3, 2]]
    with pytest.raises(ValueError, match="`cp` must have the shape"):
        cp_permute_factors(ref, random_cp(jax.random.key(1), (3, 4, 5), 3))


def test_complex_tucker_norm_and_tt_unaffected():
    t = random_tucker(jax.random.key(3), (4, 3, 5), 2)
    c = lrjax.TuckerTensor(t.core * (1 + 2j), tuple(f * (1 - 1j) for f in t.factors))
    np.testing.assert_allclose(float(c.norm()), np.linalg.norm(c.to_dense()), rtol=1e-12)
    tt = random_tt(jax.random.key(4), (3, 4, 5), 2)
    np.testing.assert_allclose(float(tt.norm()), np.linalg.norm(tt.to_dense()), rtol=1e-12)
