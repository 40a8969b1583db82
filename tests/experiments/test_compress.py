"""Smoke test of the compression experiment on a tiny crop of the shipped image."""

import json

import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("matplotlib")

from experiments.compress.configs import tiny
from experiments.compress.main import run
from lrjax.data import load_msi


def test_loader_shape_and_range():
    img = load_msi()
    assert img.shape == (150, 150, 31)
    assert 0.0 <= img.min() and img.max() <= 1.0
    with pytest.raises(ValueError, match="`name` must be one of"):
        load_msi("nope")


def test_tiny_run_writes_outputs(tmp_path):
    rows = run(tiny.get_config(), str(tmp_path))
    for name in ("metrics.jsonl", "summary.md", "psnr_vs_compression.png", "reconstructions.png"):
        assert (tmp_path / name).is_file(), name
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert logged == rows
    for family in ("CP", "Tucker", "TT"):
        errs = [r["rel_error"] for r in rows if r["family"] == family]
        assert errs[1] < errs[0], family  # a larger rank fits better
        assert all(np.isfinite(errs)) and all(0 < e < 1 for e in errs)
