"""The metric-learning and dynamic-pricing experiments end to end on their smoke settings:
the tables are written, learnt metrics beat pixel k-NN, and OPOK/OPOL beat GDG once N >> d."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("optax")

from experiments.dynamic_pricing import main as pricing
from experiments.metric_learning import main as metric


def test_metric_learning_tiny_run(tmp_path):
    metric.main(["--tiny", "--out", str(tmp_path)])
    rows = {
        r["method"].split(" (")[0]: r for r in json.loads((tmp_path / "results.json").read_text())
    }
    assert rows["FLRML 8"]["acc1"] > rows["Euclidean"]["acc1"]
    assert rows["triplet baseline 8"]["acc1"] > rows["Euclidean"]["acc1"]
    assert "| FLRML 8" in (tmp_path / "report.md").read_text()


def test_metric_learning_runs_on_orl(tmp_path):
    metric.main(["--tiny", "--dataset", "orl", "--out", str(tmp_path)])
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("AT&T / ORL, 24 training / 16 test faces, rank 8.")


def test_dynamic_pricing_tiny_run(tmp_path):
    pricing.main(["--tiny", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [(r["N"], r["d"]) for r in rows] == [(5, 2), (20, 2)]
    big = rows[1]
    assert big["opok"][0] < big["gdg"][0] and big["opol"][0] < big["gdg"][0]
    assert (tmp_path / "regret.png").stat().st_size > 0
