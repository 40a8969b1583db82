"""Sketch families, the sketch-and-solve approximation ``SCW_k`` and learned sketches.

Oracles: the dense matrix of each sketch (NumPy), SciPy's Hadamard matrix, NumPy's truncated
SVD (a full-rank sketch), a planted low-rank matrix, central finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from lrjax import linalg

KEY = jax.random.key(0)


def _sketches(m, n):
    return [
        linalg.gaussian_sketch(KEY, m, n),
        linalg.count_sketch(KEY, m, n),
        linalg.sparse_sign_sketch(KEY, m, n, nnz=3),
        linalg.srht_sketch(KEY, m, n),
    ]


@pytest.mark.parametrize("index", range(4))
def test_apply_matches_the_dense_sketch(index):
    a = np.random.default_rng(0).standard_normal((50, 7))
    s = _sketches(8, 50)[index]
    dense = np.asarray(s.to_dense())
    assert dense.shape == s.shape == (8, 50)
    np.testing.assert_allclose(s.apply(jnp.asarray(a)), dense @ a, atol=1e-12)
    b = np.random.default_rng(1).standard_normal((8, 3))
    np.testing.assert_allclose(s.apply_transpose(jnp.asarray(b)), dense.T @ b, atol=1e-12)


def test_count_and_sparse_sign_sketch_structure():
    cs = np.asarray(linalg.count_sketch(KEY, 6, 40).to_dense())
    assert np.all((cs != 0).sum(axis=0) == 1) and set(np.unique(np.abs(cs[cs != 0]))) == {1.0}
    for k in jax.random.split(KEY, 20):  # every row used, even when n is barely above m
        assert np.all((np.asarray(linalg.count_sketch(k, 6, 7).to_dense()) != 0).any(axis=1))
    ss = np.asarray(linalg.sparse_sign_sketch(KEY, 6, 40, nnz=3).to_dense())
    assert np.all((ss != 0).sum(axis=0) == 3)
    np.testing.assert_allclose(np.abs(ss[ss != 0]), 1 / np.sqrt(3))


def test_srht_is_a_scaled_row_sample_of_the_signed_hadamard_matrix():
    s = linalg.srht_sketch(KEY, 8, 64)
    h = scipy.linalg.hadamard(64) / 8.0  # normalised: orthogonal
    expected = np.sqrt(64 / 8) * h[np.asarray(s.rows)] * np.asarray(s.signs)[None]
    np.testing.assert_allclose(s.to_dense(), expected, atol=1e-12)
    # n not a power of 2: zero-padded to 64
    s = linalg.srht_sketch(KEY, 8, 50)
    a = np.random.default_rng(1).standard_normal((50, 3))
    np.testing.assert_allclose(s.apply(jnp.asarray(a)), np.asarray(s.to_dense()) @ a, atol=1e-12)


def test_gaussian_sketch_preserves_norms_on_average():
    x = np.random.default_rng(2).standard_normal((200, 1))
    norms = [
        float(jnp.sum(linalg.gaussian_sketch(k, 50, 200).apply(jnp.asarray(x)) ** 2))
        for k in jax.random.split(KEY, 40)
    ]
    np.testing.assert_allclose(np.mean(norms), np.sum(x**2), rtol=0.1)


def test_sketched_lra_recovers_a_planted_low_rank_matrix():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 40))
    for s in _sketches(8, 60):
        np.testing.assert_allclose(linalg.sketched_lra(jnp.asarray(a), s, 3), a, atol=1e-10)


def test_full_rank_sketch_gives_the_truncated_svd():
    a = np.random.default_rng(4).standard_normal((30, 20))
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    best = (u[:, :5] * s[:5]) @ vt[:5]
    sketch = linalg.gaussian_sketch(KEY, 30, 30)  # S A has the whole row space
    np.testing.assert_allclose(linalg.sketched_lra(jnp.asarray(a), sketch, 5), best, atol=1e-10)


def test_sketched_error_is_at_least_optimal_and_shrinks_with_m():
    a = np.random.default_rng(5).standard_normal((100, 60)) * np.linspace(3, 0.1, 60)
    s_opt = np.linalg.svd(a, compute_uv=False)
    optimum = np.sum(s_opt[10:] ** 2)
    errs = []
    for m in (12, 30, 60):
        sketch = linalg.gaussian_sketch(KEY, m, 100)
        errs.append(float(jnp.sum((a - linalg.sketched_lra(jnp.asarray(a), sketch, 10)) ** 2)))
    assert all(e >= optimum * (1 - 1e-9) for e in errs)
    assert errs[0] > errs[1] > errs[2] and errs[2] == pytest.approx(optimum, rel=1e-8)


def test_gradient_in_the_sketch_values_matches_finite_differences():
    a = jnp.asarray(np.random.default_rng(6).standard_normal((40, 25)))
    cs = linalg.count_sketch(KEY, 10, 40)
    loss = lambda v: linalg.sketch_loss(cs.with_params(v), a[None], 4)
    g = jax.jit(jax.grad(loss))(cs.values)
    d = jax.random.normal(jax.random.key(1), cs.values.shape)
    eps = 1e-6
    fd = (loss(cs.values + eps * d) - loss(cs.values - eps * d)) / (2 * eps)
    np.testing.assert_allclose(float(g @ d), float(fd), rtol=1e-6)


def test_gradient_is_finite_at_repeated_singular_values():
    """Singular values repeated inside the kept block and inside the dropped block: the
    projector's derivative stays finite (an SVD's would divide by zero)."""
    q1 = np.linalg.qr(np.random.default_rng(7).standard_normal((30, 6)))[0]
    q2 = np.linalg.qr(np.random.default_rng(8).standard_normal((20, 6)))[0]
    a = jnp.asarray((q1 * np.array([3.0, 3.0, 3.0, 1.0, 1.0, 1.0])) @ q2.T)
    sketch = linalg.gaussian_sketch(KEY, 30, 30)
    g = jax.grad(lambda m: linalg.sketch_loss(linalg.GaussianSketch(m), a[None], 3))(sketch.matrix)
    ga = jax.grad(lambda x: jnp.sum(linalg.sketched_lra(x, sketch, 3) ** 2))(a)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(ga))


def test_learned_count_sketch_beats_the_random_one_on_held_out_matrices():
    """A family of matrices sharing their dominant column space, supported on 12 of the 60
    rows (Indyk et al.'s premise in miniature: the inputs share structure along the sketched
    axis): the learned values cut the held-out excess error to under half the random
    sketch's."""
    rng = np.random.default_rng(9)
    basis = np.zeros((60, 5))
    basis[:12] = np.linalg.qr(rng.standard_normal((12, 5)))[0]
    mats = np.stack(
        [
            (basis * np.array([5, 4, 3, 2, 1.5])) @ rng.standard_normal((5, 30))
            + 0.1 * rng.standard_normal((60, 30))
            for _ in range(24)
        ]
    )
    train, test = jnp.asarray(mats[:16]), jnp.asarray(mats[16:])
    k, sketch0 = 5, linalg.count_sketch(KEY, 6, 60)
    learned, losses = linalg.learn_sketch(train, sketch0, k, steps=60)
    assert losses.shape == (60,) and float(losses[-1]) < float(losses[0])
    opt = np.mean([np.sum(np.linalg.svd(m, compute_uv=False)[k:] ** 2) for m in mats[16:]])
    excess_random = float(linalg.sketch_loss(sketch0, test, k)) - opt
    excess_learned = float(linalg.sketch_loss(learned, test, k)) - opt
    assert excess_learned < 0.5 * excess_random
    np.testing.assert_array_equal(learned.rows, sketch0.rows)  # positions kept


def test_learn_sketch_with_minibatches_and_callback():
    mats = jnp.asarray(np.random.default_rng(10).standard_normal((6, 20, 10)))
    seen = []
    learned, losses = linalg.learn_sketch(
        mats,
        linalg.gaussian_sketch(KEY, 5, 20),
        2,
        steps=3,
        batch_size=2,
        key=jax.random.key(1),
        callback=lambda t, v: seen.append(t),
    )
    assert seen == [0, 1, 2] and losses.shape == (3,)
    assert learned.matrix.shape == (5, 20)


def test_sketches_batch_under_vmap():
    keys = jax.random.split(KEY, 3)
    a = jnp.asarray(np.random.default_rng(11).standard_normal((40, 12)))
    batched = jax.jit(jax.vmap(lambda k: linalg.sketched_lra(a, linalg.count_sketch(k, 6, 40), 3)))
    out = batched(keys)
    for i, k in enumerate(keys):
        np.testing.assert_allclose(out[i], linalg.sketched_lra(a, linalg.count_sketch(k, 6, 40), 3))


def test_bad_input_names_the_argument():
    a = jnp.ones((10, 4))
    with pytest.raises(ValueError, match="`m`"):
        linalg.count_sketch(KEY, 0, 10)
    with pytest.raises(ValueError, match="`m`"):
        linalg.count_sketch(KEY, 11, 10)
    with pytest.raises(ValueError, match="`nnz`"):
        linalg.sparse_sign_sketch(KEY, 3, 10, nnz=4)
    with pytest.raises(ValueError, match="`m`"):
        linalg.srht_sketch(KEY, 17, 10)
    with pytest.raises(ValueError, match="`sketch` has shape"):
        linalg.sketched_lra(a, linalg.count_sketch(KEY, 3, 9), 2)
    with pytest.raises(ValueError, match="`rank`"):
        linalg.sketched_lra(a, linalg.count_sketch(KEY, 3, 10), 4)
    with pytest.raises(TypeError, match="`sketch`"):
        linalg.sketched_lra(a, np.ones((3, 10)), 2)
    with pytest.raises(TypeError, match="trainable"):
        linalg.learn_sketch(a[None], linalg.srht_sketch(KEY, 4, 10), 2, steps=1)
    with pytest.raises(ValueError, match="`batch_size`"):
        linalg.learn_sketch(a[None], linalg.count_sketch(KEY, 4, 10), 2, batch_size=2, key=KEY)
    with pytest.raises(ValueError, match="`a`"):
        linalg.sketched_lra(
            jnp.array([1.0, jnp.nan]).reshape(2, 1), linalg.count_sketch(KEY, 1, 2), 1
        )
