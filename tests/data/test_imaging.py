"""Loaders of the shipped imaging data: shapes, ranges, label conventions, errors."""

import numpy as np
import pytest

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy")

from lrjax.data import (  # noqa: E402
    cdnet_labels,
    data_root,
    load_cdnet_highway,
    load_faces,
    load_i2r_hall,
    load_image,
    load_msi,
)
from lrjax.data._files import downsample as _downsample  # noqa: E402
from lrjax.data._imaging import SET11  # noqa: E402


def test_set11_images():
    for name in ("barbara", "parrots", "foreman", "monarch"):
        img = load_image(name)
        assert img.shape == (256, 256) and img.dtype == np.float64
        assert 0.0 <= img.min() < img.max() <= 1.0
    # palette images: the raw indices are the gray levels (identity ramp)
    with PIL.open(data_root() / "set11" / SET11["parrots"]) as im:
        np.testing.assert_array_equal(load_image("Parrots") * 255, np.asarray(im))
    with pytest.raises(ValueError, match="`name` must be one of"):
        load_image("baboon")


def test_cdnet_labels_follow_the_benchmark():
    gt = np.array([0, 50, 85, 170, 255], np.uint8)
    fg, valid = cdnet_labels(gt)
    np.testing.assert_array_equal(fg, [False, False, False, False, True])
    np.testing.assert_array_equal(valid, [True, True, False, False, True])


def test_highway_frames_and_ground_truth():
    v = load_cdnet_highway(start=600, n_frames=3, step=5)
    assert v.frames.shape == v.truth.shape == v.valid.shape == (3, 240, 320)
    assert v.labelled.all() and 0 <= v.frames.min() and v.frames.max() <= 1
    with PIL.open(data_root() / "cdnet_highway" / "groundtruth" / "gt000605.png") as im:
        raw = np.asarray(im)
    np.testing.assert_array_equal(v.truth[1], raw == 255)
    assert v.truth[1].sum() > 0  # a car is on the road in frame 605
    small = load_cdnet_highway(start=600, n_frames=3, step=5, downsample=4)
    assert small.frames.shape == (3, 60, 80)
    np.testing.assert_allclose(small.frames, _downsample(v.frames, 4))
    with pytest.raises(ValueError, match=r"only 470\.\.769 are shipped"):
        load_cdnet_highway(start=700, n_frames=100)
    with pytest.raises(ValueError, match="`downsample` must be a positive int, got 0"):
        load_cdnet_highway(downsample=0)


def test_downsample_majority_and_all_valid():
    truth = np.zeros((1, 4, 4))
    truth[0, :2, :2] = [[1, 1], [1, 0]]  # 3 of 4: foreground
    truth[0, 2:, 2:] = [[1, 0], [0, 1]]  # 2 of 4: not a majority
    assert (_downsample(truth, 2) > 0.5).tolist() == [[[True, False], [False, False]]]


def test_hall_and_faces():
    h = load_i2r_hall()
    assert h.frames.shape == (50, 144, 176) and h.labelled.sum() == 1
    assert 0.05 < h.truth[h.labelled].mean() < 0.2  # about 11 % foreground
    images, labels = load_faces()
    assert images.shape == (2414, 32, 32) and labels.shape == (2414,)
    assert labels.min() == 0 and labels.max() == 37
    assert np.bincount(labels).min() >= 59
    # rows are column-major images: read right, the mean face (lit from both sides across the
    # set) is left-right symmetric (measured 0.010 vs 0.052 for the up-down mirror); read
    # row-major, it would be the transpose and the inequality would flip
    mean = images.mean(axis=0)
    assert np.abs(mean - mean[:, ::-1]).mean() < 0.5 * np.abs(mean - mean[::-1]).mean()


def test_orl_faces():
    images, labels = load_faces("orl")
    assert images.shape == (400, 32, 32) and np.bincount(labels).tolist() == [10] * 40
    assert 0.0 <= images.min() and images.max() <= 1.0
    mean = images.mean(axis=0)  # upright faces: measured 0.031 vs 0.105
    assert np.abs(mean - mean[:, ::-1]).mean() < 0.5 * np.abs(mean - mean[::-1]).mean()
    with pytest.raises(ValueError, match=r"`dataset` must be one of \['orl', 'yaleb'\], got 'x'"):
        load_faces("x")


def test_cloth_is_scaled_to_unit_peak():
    img = load_msi("cloth")
    assert img.shape == (256, 256, 31) and img.max() == 1.0 and img.min() >= 0
