"""Metric learning: Stiefel tools against closed forms, FLRML and the triplet baseline on a
planted low-rank metric, k-NN against a NumPy loop, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import metric_learning as ml

KEY = jax.random.key(0)
RNG = np.random.default_rng(0)


def test_retractions_stay_on_the_manifold_and_descend():
    x = np.linalg.qr(RNG.standard_normal((9, 3)))[0]
    a = RNG.standard_normal((9, 9))
    a = a + a.T
    g = 2 * a @ x  # gradient of tr(X^T A X)
    for y in (
        ml.cayley_retraction(x, g, 0.01),
        ml.qr_retraction(x, -0.01 * ml.stiefel_gradient(x, g)),
    ):
        y = np.asarray(y)
        np.testing.assert_allclose(y.T @ y, np.eye(3), atol=1e-12)
        assert np.trace(y.T @ a @ y) < np.trace(x.T @ a @ x)
    np.testing.assert_allclose(ml.qr_retraction(x, np.zeros_like(x)), x, atol=1e-12)
    # at an invariant subspace the Riemannian gradient vanishes
    _, v = np.linalg.eigh(a)
    np.testing.assert_allclose(ml.stiefel_gradient(v[:, :3], 2 * a @ v[:, :3]), 0, atol=1e-10)


def _planted(n_per=50, classes=4, dim=40, informative=3, seed=0):
    """Classes separated along 3 directions, drowned by isotropic noise in the other 37:
    a training and a test set of the same distribution."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((dim, informative)))[0]
    centres = 2.0 * rng.standard_normal((classes, informative))
    rng = np.random.default_rng(seed + 1)
    labels = np.repeat(np.arange(classes), n_per)
    signal = (centres[labels] + 0.3 * rng.standard_normal((len(labels), informative))) @ basis.T
    x = signal + 0.8 * rng.standard_normal((len(labels), dim))
    return x, labels


def test_knn_matches_numpy():
    x, y = _planted()
    test = x[::3] + 0.1 * RNG.standard_normal(x[::3].shape)
    for k in (1, 3):
        got = np.asarray(ml.knn_predict(x, y, test, k=k))
        d = ((test[:, None] - x[None]) ** 2).sum(-1)
        near = np.argsort(d, axis=1)[:, :k]
        ref = [
            max(y[r], key=lambda c, r=r: (np.sum(y[r] == c), -list(y[r]).index(c))) for r in near
        ]
        np.testing.assert_array_equal(got, ref)


def test_triplets_from_labels():
    x, y = _planted(n_per=6)
    t = np.asarray(ml.triplets_from_labels(x, y, n_targets=2, n_impostors=2))
    assert t.shape == (len(x) * 4, 3)
    assert np.all(y[t[:, 0]] == y[t[:, 1]]) and np.all(y[t[:, 0]] != y[t[:, 2]])
    assert np.all(t[:, 0] != t[:, 1])


@pytest.mark.parametrize("retraction", ["cayley", "qr"])
def test_flrml_improves_knn_on_a_planted_metric(retraction):
    x, y = _planted()
    xt, yt = _planted(seed=1)
    trip = ml.triplets_from_labels(ml.unit_rows(x), y)
    before = float(ml.knn_accuracy(x, y, xt, yt, k=1))
    res = ml.flrml(x, trip, rank=3, key=KEY, margin_ratio=0.2, retraction=retraction)
    emb = lambda a: ml.unit_rows(a) @ res.transform
    after = float(ml.knn_accuracy(emb(x), y, emb(xt), yt, k=1))
    assert res.transform.shape == (40, 3) and np.all(np.isfinite(res.transform))
    assert after > before + 0.04, (before, after)


def test_triplet_metric_lowers_its_loss_computed_in_numpy():
    x, y = _planted()
    trip = np.asarray(ml.triplets_from_labels(ml.unit_rows(x), y))
    res = ml.triplet_metric(x, trip, rank=3, steps=300)
    hist = np.asarray(res.info.history)
    emb = np.asarray(ml.unit_rows(x)) @ np.asarray(res.transform)
    near = ((emb[trip[:, 0]] - emb[trip[:, 1]]) ** 2).sum(1)
    far = ((emb[trip[:, 0]] - emb[trip[:, 2]]) ** 2).sum(1)
    ref = np.mean(np.maximum(1.0 + near - far, 0.0)) + 0.5 * np.mean(near)
    np.testing.assert_allclose(float(res.info.error), ref, rtol=1e-10)
    assert ref < 0.75 * hist[0] and bool(res.info.converged)


def test_flrml_vmaps_over_margin_and_differentiates():
    x, y = _planted(n_per=8, dim=12)
    trip = ml.triplets_from_labels(x, y, n_targets=2, n_impostors=2)
    ratios = jnp.array([0.2, 0.5, 1.0])
    batched = jax.vmap(lambda m: ml.flrml(x, trip, rank=2, key=KEY, margin_ratio=m, maxiter=5))(
        ratios
    )
    for i, m in enumerate(ratios):
        one = ml.flrml(x, trip, rank=2, key=KEY, margin_ratio=m, maxiter=5)
        np.testing.assert_allclose(batched.transform[i], one.transform, rtol=1e-6, atol=1e-9)

    def loss(a):
        return jnp.sum(jnp.sin(ml.flrml(a, trip, rank=2, key=KEY, maxiter=5, tol=0.0).transform))

    g = jax.jit(jax.grad(loss))(jnp.asarray(x))
    v = RNG.standard_normal(x.shape)
    h = 1e-6
    fd = (loss(x + h * v) - loss(x - h * v)) / (2 * h)
    np.testing.assert_allclose(float(jnp.sum(g * v)), float(fd), rtol=1e-4)


def test_integer_output_routines_reject_bad_input():
    x, y = _planted(n_per=4)
    with pytest.raises(ValueError, match="labels"):
        ml.triplets_from_labels(x, y, n_targets=4)
    with pytest.raises(ValueError, match="labels"):
        ml.triplets_from_labels(x, y.astype(float))
    with pytest.raises(ValueError, match="x"):
        ml.triplets_from_labels(np.where(x > 0, np.nan, x), y)
    with pytest.raises(ValueError, match="k"):
        ml.knn_predict(x, y, x, k=0)
    with pytest.raises(ValueError, match="test"):
        ml.knn_predict(x, y, x[:, :3])
    with pytest.raises(ValueError, match="train"):
        ml.knn_predict(np.full_like(x, np.nan), y, x)
    with pytest.raises(ValueError, match="train_labels"):
        ml.knn_predict(x, y[:3], x)


def test_flrml_beats_euclidean_knn_on_extended_yale_b_by_ten_points():
    """The issue's goal on the shipped faces: rank 64, 32 training faces per subject."""
    from lrjax.data import load_faces

    images, labels = load_faces()
    x = images.reshape(len(images), -1)
    rng = np.random.default_rng(0)
    train = np.zeros(len(x), bool)
    for c in np.unique(labels):
        train[rng.permutation(np.flatnonzero(labels == c))[:32]] = True
    xtr, ytr, xte, yte = x[train], labels[train], x[~train], labels[~train]
    trip = ml.triplets_from_labels(ml.unit_rows(xtr), ytr)
    res = ml.flrml(xtr, trip, rank=64, key=KEY, margin_ratio=0.2)
    emb = lambda a: ml.unit_rows(a) @ res.transform
    euclid = float(ml.knn_accuracy(xtr, ytr, xte, yte))
    learnt = float(ml.knn_accuracy(emb(xtr), ytr, emb(xte), yte))
    assert learnt > euclid + 0.10, (euclid, learnt)
