"""Imaging experiments: their building blocks against oracles, and a smoke run of each."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("matplotlib")
pytest.importorskip("scipy")

from experiments._nonlocal import all_patches, group_denoise, match
from experiments.background import main as background
from experiments.cs_recovery import main as cs
from experiments.faces import main as faces
from experiments.msi_denoise import main as msi
from lrjax.metrics import f_measure, psnr


def _smooth_image(n=32, c=1, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    base = 0.5 + 0.3 * np.sin(2 * np.pi * yy) * np.cos(3 * np.pi * xx)
    return np.stack([base * (1 + 0.1 * rng.standard_normal()) for _ in range(c)], -1)


def test_block_matching_finds_the_nearest_patches():
    rng = np.random.default_rng(0)
    img = rng.random((14, 13, 1))
    p, stride, window, k = 3, 4, 2, 5
    idx = np.asarray(match(jnp.asarray(img), p, stride, window, k))
    feats = np.asarray(all_patches(jnp.asarray(img), p)).reshape(12, 11, -1)
    refs = [(y, x) for y in (0, 4, 8, 11) for x in (0, 4, 8, 10)]  # grid + last row/col
    assert idx.shape == (len(refs), k)
    for (ry, rx), got in zip(refs, idx, strict=True):
        assert got[0] == ry * 11 + rx  # the reference comes first
        cy = min(max(ry, window), 12 - 1 - window)  # windows shifted inside the border
        cx = min(max(rx, window), 11 - 1 - window)
        cands = [
            (y, x)
            for y in range(cy - window, cy + window + 1)
            for x in range(cx - window, cx + window + 1)
        ]
        d = sorted(np.sum((feats[y, x] - feats[ry, rx]) ** 2) for y, x in cands)
        got_d = sorted(np.sum((feats[i // 11, i % 11] - feats[ry, rx]) ** 2) for i in got)
        np.testing.assert_allclose(got_d, d[:k], rtol=1e-12)


@pytest.mark.parametrize("prior", ["svt", "tucker"])
def test_group_denoise_is_the_identity_at_zero_noise_and_denoises(prior):
    clean = _smooth_image()
    x = jnp.asarray(clean)
    same = group_denoise(x, x, 0.0, patch=4, stride=2, window=3, k=8, prior=prior)
    np.testing.assert_allclose(same, clean, atol=1e-9)
    noisy = clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape)
    y = jnp.asarray(noisy)
    out = group_denoise(y, y, 0.1, patch=4, stride=2, window=3, k=16, prior=prior)
    assert float(psnr(clean, out)) > float(psnr(clean, noisy)) + 3.0


def test_sensing_matrix_blocks_and_projection():
    phi = cs.sensing_matrix(jax.random.key(0), 0.1, 8, jnp.float64)
    assert phi.shape == (6, 64)
    np.testing.assert_allclose(phi @ phi.T, np.eye(6), atol=1e-12)
    img = jnp.asarray(np.random.default_rng(0).random((16, 24)))
    np.testing.assert_array_equal(cs.from_blocks(cs.to_blocks(img, 8), img.shape, 8), img)
    np.testing.assert_array_equal(cs.to_blocks(img, 8)[1], np.asarray(img[:8, 8:16]).ravel())
    y = cs.measure(img, phi, 8)
    z = jnp.zeros_like(img)
    x = cs.project(z, y, phi, 8)
    np.testing.assert_allclose(cs.measure(x, phi, 8), y, atol=1e-12)  # consistent
    np.testing.assert_allclose(cs.project(x, y, phi, 8), x, atol=1e-12)  # idempotent


def test_lrsi_separates_planted_background_objects_and_illumination():
    rng = np.random.default_rng(0)
    t, h, w = 30, 16, 20
    bg = rng.uniform(0.3, 0.7, (h, w))
    gain = 1 + 0.1 * rng.standard_normal(t)  # global brightness changes: still rank one
    frames = gain[:, None, None] * bg[None]
    basis = background.dct_basis(h, w, 2)
    np.testing.assert_allclose(basis.T @ basis, np.eye(4), atol=1e-12)
    illum = (basis @ (0.3 * rng.standard_normal((4, t)))).T.reshape(t, h, w)
    truth = np.zeros((t, h, w), bool)
    for i in range(t):  # a 3x3 object moving along the rows
        y0, x0 = (2 * i) % (h - 3), (3 * i) % (w - 3)
        truth[i, y0 : y0 + 3, x0 : x0 + 3] = True
    video = frames + illum + 0.6 * truth
    m = jnp.asarray(video.reshape(t, -1).T)
    g = jnp.asarray(basis)
    bg_est, s, _, err = background.lrsi(
        m, g, jnp.ones_like(m), jnp.asarray(1 / np.sqrt(h * w)), maxiter=500, tol=1e-9
    )
    assert float(err) < 1e-6
    pred = np.abs(np.asarray(s).T.reshape(t, h, w)) > 0.3
    assert float(f_measure(jnp.asarray(pred), jnp.asarray(truth))) > 0.97
    np.testing.assert_allclose(bg_est + s, m, atol=1e-5)


def test_corruptions_have_the_requested_size():
    images = np.full((3, 32, 32), 0.5)
    pix = faces.corrupt(images, "pixel", 0.4, 0)
    assert all(np.sum(p != 0.5) == pytest.approx(0.4 * 1024, abs=2) for p in pix)
    blk = faces.corrupt(images, "block", 0.25, 0)
    for b in blk:
        ys, xs = np.nonzero(b != 0.5)
        assert ys.max() - ys.min() + 1 == 16 and xs.max() - xs.min() + 1 == 16
    assert np.array_equal(faces.corrupt(images, "none", 0.0, 0), images)
    with pytest.raises(ValueError, match="corruption kind"):
        faces.corrupt(images, "stripes", 0.1, 0)


def _check_outputs(tmp_path, rows, pngs):
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert logged == rows and (tmp_path / "summary.md").is_file()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(pngs)


def test_background_tiny_run_and_resume(tmp_path):
    from experiments.background.configs import tiny

    rows = background.run(tiny.get_config(), str(tmp_path))
    _check_outputs(tmp_path, rows, ["highway_frame4.png"])
    assert [r["method"] for r in rows] == ["rpca", "trpca", "lrsi"]
    assert rows[0]["f_measure"] > 0.5  # even 5 iterations of PCP find the cars
    again = background.run(tiny.get_config(), str(tmp_path))  # resumes: rows are reused
    assert again == rows
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3


def test_msi_tiny_run(tmp_path):
    from experiments.msi_denoise.configs import tiny

    rows = msi.run(tiny.get_config(), str(tmp_path))
    _check_outputs(tmp_path, rows, ["rgb_sigma30.png", "band20_sigma30.png"])
    noisy = rows[0]["mpsnr"]
    assert all(r["mpsnr"] > noisy for r in rows[1:])  # every method removes some noise


def test_cs_tiny_run(tmp_path):
    from experiments.cs_recovery.configs import tiny

    rows = cs.run(tiny.get_config(), str(tmp_path))
    _check_outputs(tmp_path, rows, ["monarch_rate0.1.png"])
    by = {r["method"]: r["psnr"] for r in rows}
    assert by["dct_ista"] > by["min_norm"]


def test_faces_tiny_run(tmp_path):
    from experiments.faces.configs import tiny

    rows = faces.run(tiny.get_config(), str(tmp_path))
    _check_outputs(tmp_path, rows, ["block40_examples.png"])
    assert all(r["n_test"] == 38 and 0 <= r["accuracy"] <= 1 for r in rows)


@pytest.mark.parametrize("module", [background, msi, cs, faces], ids=lambda m: m.__name__)
def test_every_config_names_known_methods(module):
    import importlib
    import pkgutil

    package = module.__name__.rsplit(".", 1)[0] + ".configs"
    names = [m.name for m in pkgutil.iter_modules(importlib.import_module(package).__path__)]
    assert {"default", "full", "tiny"} <= set(names)
    for name in names:
        config = importlib.import_module(f"{package}.{name}").get_config()
        assert set(config.methods) <= set(module.METHODS), (name, config.methods)
