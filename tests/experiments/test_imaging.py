"""Imaging experiments: their building blocks against oracles, and a smoke run of each."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("matplotlib")
pytest.importorskip("scipy")

from experiments.background import main as background
from experiments.cs_recovery import main as cs
from experiments.faces import main as faces
from experiments.msi_denoise import main as msi


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
    assert [r["method"] for r in rows] == ["rpca", "trpca", "lrsi", "tlisd"]
    assert rows[0]["f_measure"] > 0.5  # even 5 iterations of PCP find the cars
    again = background.run(tiny.get_config(), str(tmp_path))  # resumes: rows are reused
    assert again == rows
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 4


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


def test_runners_take_your_own_files(tmp_path):
    """Each imaging runner on a user's file: a video as a .npy stack without ground truth and as
    a folder with masks, a multispectral cube as .npy, an image for CS as .png."""
    from PIL import Image

    from experiments.background.configs import tiny as bg_tiny
    from experiments.cs_recovery.configs import tiny as cs_tiny
    from experiments.msi_denoise.configs import tiny as msi_tiny
    from lrjax.data import load_cdnet_highway, load_image, load_msi

    video = load_cdnet_highway(n_frames=8, step=30, downsample=8)
    np.save(tmp_path / "clip.npy", video.frames)
    config = bg_tiny.get_config()
    config.dataset, config.step, config.methods = str(tmp_path / "clip.npy"), 1, ("rpca",)
    config.downsample = 1  # the clip is already small
    rows = background.run(config, str(tmp_path / "bg"))
    assert "f_measure" not in rows[0] and 0 < rows[0]["foreground_fraction"] < 0.5
    assert "No ground truth given" in (tmp_path / "bg" / "summary.md").read_text()
    (tmp_path / "frames").mkdir()
    (tmp_path / "masks").mkdir()
    for i, (f, t) in enumerate(zip(video.frames, video.truth, strict=True)):
        Image.fromarray(np.round(f * 255).astype(np.uint8)).save(
            tmp_path / "frames" / f"{i:02d}.png"
        )
        Image.fromarray(t.astype(np.uint8) * 255).save(tmp_path / "masks" / f"{i:02d}.png")
    config.dataset, config.truth = str(tmp_path / "frames"), str(tmp_path / "masks")
    rows = background.run(config, str(tmp_path / "bg2"))
    assert rows[0]["f_measure"] > 0.5  # the cars, as on the shipped clip

    np.save(tmp_path / "cube.npy", load_msi()[:24, :24, :8])
    config = msi_tiny.get_config()
    config.image, config.methods = str(tmp_path / "cube.npy"), ("bandwise_svt",)
    rows = msi.run(config, str(tmp_path / "msi"))
    assert rows[1]["mpsnr"] > rows[0]["mpsnr"]  # denoised beats noisy

    Image.fromarray(np.round(load_image("house") * 255).astype(np.uint8)[:70, :75]).save(
        tmp_path / "mine.png"
    )
    config = cs_tiny.get_config()
    config.figure_image = str(tmp_path / "mine.png")
    config.images, config.crop, config.methods = (
        (str(tmp_path / "mine.png"),),
        0,
        ("min_norm", "dct_ista"),
    )
    rows = cs.run(config, str(tmp_path / "cs"))
    assert (tmp_path / "cs" / "mine_rate0.1.png").is_file()  # cropped to 64 x 64 (whole blocks)
    assert rows[1]["psnr"] > rows[0]["psnr"]
    config.images = (str(tmp_path / "missing.png"),)
    with pytest.raises(ValueError, match=r"missing\.png not found"):
        cs.run(config, str(tmp_path / "cs_missing"))
