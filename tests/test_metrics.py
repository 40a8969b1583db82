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


# --------------------------------------------------------------------------- image quality

from lrjax.metrics import detection_stats, f_measure, psnr, ssim  # noqa: E402


def test_psnr_by_hand():
    x = jnp.array([[0.0, 0.5], [1.0, 0.25]])
    y = x + jnp.array([[0.1, -0.1], [0.0, 0.0]])  # MSE = 0.02 / 4 = 0.005
    np.testing.assert_allclose(psnr(x, y), 10 * math.log10(1 / 0.005), rtol=1e-6)
    np.testing.assert_allclose(
        psnr(255 * x, 255 * y, data_range=255), 10 * math.log10(200), rtol=1e-6
    )
    assert float(psnr(x, x)) == math.inf


def test_ergas_against_the_band_loop():
    from lrjax.metrics import ergas

    rng = np.random.default_rng(0)
    ref = rng.uniform(0.2, 1.0, (9, 7, 5))
    est = ref + 0.05 * rng.standard_normal(ref.shape)
    terms = [np.mean((ref[..., b] - est[..., b]) ** 2) / ref[..., b].mean() ** 2 for b in range(5)]
    np.testing.assert_allclose(ergas(ref, est), 100 * np.sqrt(np.mean(terms)), rtol=1e-12)
    np.testing.assert_allclose(ergas(ref, est, ratio=0.25), 25 * np.sqrt(np.mean(terms)))
    assert float(ergas(ref, ref)) == 0.0


def _ssim_oracle(x, y, win=7, sigma=1.5, data_range=1.0):
    """Direct double loop over every window position with 2-D Gaussian weights."""
    t = np.arange(win) - (win - 1) / 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    g /= g.sum()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i in range(x.shape[0] - win + 1):
        for j in range(x.shape[1] - win + 1):
            a, b = x[i : i + win, j : j + win], y[i : i + win, j : j + win]
            ma, mb = (g * a).sum(), (g * b).sum()
            va, vb = (g * (a - ma) ** 2).sum(), (g * (b - mb) ** 2).sum()
            cov = (g * (a - ma) * (b - mb)).sum()
            vals.append(
                ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
            )
    return float(np.mean(vals))


def test_ssim_matches_a_direct_window_loop():
    rng = np.random.default_rng(0)
    x = rng.random((15, 17))
    y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1)
    np.testing.assert_allclose(ssim(x, y, win_size=7), _ssim_oracle(x, y), rtol=1e-10)
    np.testing.assert_allclose(
        ssim(255 * x, 255 * y, data_range=255, win_size=7),
        _ssim_oracle(255 * x, 255 * y, data_range=255),
        rtol=1e-10,
    )


def test_ssim_closed_forms_and_channels():
    a, b = 0.3, 0.6  # constant images: only the luminance term is left
    c1 = 0.01**2
    expect = (2 * a * b + c1) / (a**2 + b**2 + c1)
    np.testing.assert_allclose(
        ssim(jnp.full((12, 12), a), jnp.full((12, 12), b)), expect, rtol=1e-10
    )
    rng = np.random.default_rng(1)
    x, y = rng.random((13, 12, 3)), rng.random((13, 12, 3))
    per = [_ssim_oracle(x[..., c], y[..., c], win=11) for c in range(3)]
    np.testing.assert_allclose(ssim(x, y, channel_axis=2), np.mean(per), rtol=1e-10)
    np.testing.assert_allclose(
        ssim(np.moveaxis(x, 2, 0), np.moveaxis(y, 2, 0), channel_axis=0), np.mean(per), rtol=1e-10
    )


def test_image_metric_errors_name_the_argument():
    with pytest.raises(ValueError, match="one shape"):
        psnr(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="`data_range` must be positive, got 0"):
        psnr(jnp.zeros(3), jnp.ones(3), data_range=0)
    with pytest.raises(ValueError, match="`win_size` must be odd"):
        ssim(jnp.zeros((8, 8)), jnp.zeros((8, 8)), win_size=9)
    with pytest.raises(ValueError, match="2-D image"):
        ssim(jnp.zeros((8, 8, 2)), jnp.zeros((8, 8, 2)))


def test_detection_counts_by_hand_with_a_valid_mask():
    pred = jnp.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool)
    truth = jnp.array([[1, 0, 1, 0], [1, 1, 1, 0]], bool)
    valid = jnp.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)  # two pixels not evaluated
    s = detection_stats(pred, truth, valid)
    assert [float(v) for v in s] == [2.0, 1.0, 2.0, 1.0]  # tp, fp, fn, tn
    np.testing.assert_allclose(s.precision, 2 / 3)
    np.testing.assert_allclose(s.recall, 2 / 4)
    np.testing.assert_allclose(f_measure(pred, truth, valid), 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # counts add across frames: the per-sequence F of CDnet
    s2 = detection_stats(
        pred[None].repeat(3, 0), truth[None].repeat(3, 0), valid[None].repeat(3, 0)
    )
    assert float(s2.tp) == 6 and float(s2.f_measure) == pytest.approx(float(s.f_measure))
    assert float(f_measure(jnp.zeros(4), jnp.zeros(4))) == 0.0  # nothing to find, nothing found
