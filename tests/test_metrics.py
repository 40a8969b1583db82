"""Frame NLL and accuracy against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax.metrics import frame_accuracy, frame_stats, nll_per_frame


def test_nll_by_hand_with_an_empty_frame_and_a_padded_frame():
    # 3 keys, frames: (notes 1,0,0), (no notes), (padding: must not count)
    logits = jnp.array([[[2.0, -1.0, 0.0], [0.5, 0.5, -3.0], [9.0, 9.0, 9.0]]])
    targets = jnp.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    mask = jnp.array([[1.0, 1.0, 0.0]])
    sp = lambda z: math.log1p(math.exp(z))  # -log(1 - sigmoid(-z)) = softplus(z)
    frame1 = sp(-2.0) + sp(-1.0) + sp(0.0)  # -log s(2) - log(1 - s(-1)) - log(1 - s(0))
    frame2 = sp(0.5) + sp(0.5) + sp(-3.0)
    np.testing.assert_allclose(
        nll_per_frame(logits, targets, mask), (frame1 + frame2) / 2, rtol=1e-6
    )


def test_accuracy_by_hand():
    # predicted on: logit > 0.  frame 1: TP=1 (key 0), FP=1 (key 2), FN=1 (key 1)
    # frame 2 (no notes, one false positive): FP=1; frame 3 padded.
    logits = jnp.array([[3.0, -1.0, 0.2], [0.1, -2.0, -2.0], [5.0, 5.0, 5.0]])
    targets = jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    mask = jnp.array([1.0, 1.0, 0.0])
    assert float(frame_accuracy(logits, targets, mask)) == pytest.approx(1 / (1 + 2 + 1))
    s = frame_stats(logits, targets, mask)
    assert (float(s.tp), float(s.fp), float(s.fn), float(s.n_frames)) == (1, 2, 1, 2)


def test_stats_add_across_batches():
    k1, k2 = jax.random.split(jax.random.key(0))
    logits = jax.random.normal(k1, (6, 10, 88))
    targets = (jax.random.uniform(k2, (6, 10, 88)) < 0.05).astype(jnp.float32)
    whole = frame_stats(logits, targets)
    parts = jax.tree.map(
        jnp.add, frame_stats(logits[:2], targets[:2]), frame_stats(logits[2:], targets[2:])
    )
    np.testing.assert_allclose(whole.nll, parts.nll, rtol=1e-6)
    np.testing.assert_allclose(whole.accuracy, parts.accuracy, rtol=1e-6)


def test_no_notes_anywhere_is_perfect_accuracy_and_shapes_are_checked():
    assert float(frame_accuracy(-jnp.ones((2, 4)), jnp.zeros((2, 4)))) == 1.0
    with pytest.raises(ValueError, match="mask"):
        frame_stats(jnp.zeros((2, 4)), jnp.zeros((2, 4)), jnp.ones(3))
    with pytest.raises(ValueError, match="one shape"):
        frame_stats(jnp.zeros((2, 4)), jnp.zeros((2, 5)))
