"""The learned-sketch experiment end to end on its tiny config: the table, the results and
the figure are written, the learned sketch is no worse than the random one it started from
on the held-out frames, and every error is at least the optimum (the truncated SVD's)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("optax")
pytest.importorskip("matplotlib")

from experiments.learned_sketch import main
from experiments.learned_sketch.configs import tiny


def test_tiny_run_writes_its_table_and_figure(tmp_path):
    config = tiny.get_config()
    assert main.validate(config) == []
    main.run(config, str(tmp_path))
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [(r["dataset"], r["k"], r["m"]) for r in rows] == [("hall", 4, 8)]
    r = rows[0]
    for name in ("learned", "countsketch", "gaussian"):
        assert r[name] >= r["optimal"] * (1 - 1e-4)
    assert r["learned"] <= r["countsketch"]
    assert "learned / random" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "learning_curve.png").stat().st_size > 0


def test_validate_names_the_bad_fields():
    config = tiny.get_config()
    config.datasets = ("nope",)
    config.ranks = (9,)
    config.steps = 0
    problems = main.validate(config)
    assert any("datasets" in p for p in problems)
    assert any("ranks" in p for p in problems)
    assert any("steps" in p for p in problems)
