"""LRDKT's knowledge-transfer losses against hand computations (NumPy), their derivatives
(teacher held fixed; student against finite differences), jit / vmap, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("flax")
from lrjax import nn as lrnn

RNG = np.random.default_rng(0)
S, T = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
Y = np.array([0, 3, 1, 1, 2])
FS = [RNG.standard_normal((5, 3, 3, 2)), RNG.standard_normal((5, 6))]
FT = [RNG.standard_normal((5, 3, 3, 2)), RNG.standard_normal((5, 6))]


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_soft_cross_entropy_by_hand():
    for temp in (1.0, 3.0):
        p, q = _softmax(T / temp), _softmax(S / temp)
        want = temp**2 * np.mean(-np.sum(p * np.log(q), -1))
        np.testing.assert_allclose(lrnn.soft_cross_entropy(S, T, temp), want, rtol=1e-12)
    # minimised (at the teacher's entropy) when the student equals the teacher
    p = _softmax(T)
    np.testing.assert_allclose(
        lrnn.soft_cross_entropy(T, T), np.mean(-np.sum(p * np.log(p), -1)), rtol=1e-12
    )


def test_feature_distance_by_hand():
    want = sum(
        0.5 * np.mean(np.sum((a - b).reshape(5, -1) ** 2, 1)) for a, b in zip(FS, FT, strict=True)
    )
    np.testing.assert_allclose(lrnn.feature_distance(FS, FT), want, rtol=1e-12)
    np.testing.assert_allclose(
        lrnn.feature_distance(FS[1], FT[1]), 0.5 * np.mean(np.sum((FS[1] - FT[1]) ** 2, 1))
    )


def test_knowledge_transfer_loss_parts_and_total():
    out = lrnn.knowledge_transfer_loss(
        S, Y, T, FS, FT, local_weight=0.3, global_weight=2.0, temperature=2.0
    )
    labels = np.mean(-np.log(_softmax(S)[np.arange(5), Y]))
    np.testing.assert_allclose(out.labels, labels, rtol=1e-12)
    np.testing.assert_allclose(out.local, lrnn.feature_distance(FS, FT), rtol=1e-12)
    np.testing.assert_allclose(out.global_, lrnn.soft_cross_entropy(S, T, 2.0), rtol=1e-12)
    np.testing.assert_allclose(out.total, labels + 0.3 * out.local + 2.0 * out.global_)
    no_local = lrnn.knowledge_transfer_loss(S, Y, T)
    assert float(no_local.local) == 0.0


def _total(s, t, fs, ft):
    return lrnn.knowledge_transfer_loss(s, Y, t, fs, ft, temperature=2.0, local_weight=0.5).total


def test_gradient_reaches_the_student_only_and_matches_finite_differences():
    gs, gt, gfs, gft = jax.jit(jax.grad(_total, argnums=(0, 1, 2, 3)))(S, T, FS, FT)
    assert not np.any(np.asarray(gt)) and not any(np.any(np.asarray(g)) for g in gft)
    v = RNG.standard_normal(S.shape)
    h = 1e-6
    fd = (_total(S + h * v, T, FS, FT) - _total(S - h * v, T, FS, FT)) / (2 * h)
    np.testing.assert_allclose(np.sum(np.asarray(gs) * v), fd, rtol=1e-6)
    np.testing.assert_allclose(gfs[1], 0.5 * (FS[1] - FT[1]) / 5, rtol=1e-12)


def test_vmap_over_a_batch_of_problems_matches_a_loop():
    ss = jnp.stack([jnp.asarray(S), jnp.asarray(S) * 2, jnp.asarray(T)])
    batched = jax.jit(jax.vmap(lambda s: _total(s, T, FS, FT)))(ss)
    np.testing.assert_allclose(batched, [_total(s, T, FS, FT) for s in ss], rtol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: lrnn.soft_cross_entropy(S, T[:, :3]), r"same shape.*\(5, 4\) and \(5, 3\)"),
        (lambda: lrnn.soft_cross_entropy(S, T, 0.0), "temperature"),
        (lambda: lrnn.feature_distance(FS, FT[:1]), "same structure"),
        (lambda: lrnn.feature_distance([S], [S[:2]]), r"block 0.*\(5, 4\) and \(2, 4\)"),
        (lambda: lrnn.knowledge_transfer_loss(S, Y.astype(float), T), "integer class labels"),
        (lambda: lrnn.knowledge_transfer_loss(S, Y[:3], T), r"5 integer class labels"),
        (lambda: lrnn.knowledge_transfer_loss(S, Y, T, FS), "both be given"),
        (lambda: lrnn.knowledge_transfer_loss(S, Y, T, local_weight=-1.0), "local_weight"),
        (lambda: lrnn.knowledge_transfer_loss(S[0], Y, T[0]), r"\(batch, classes\)"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
