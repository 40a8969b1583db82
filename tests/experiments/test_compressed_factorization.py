"""The compressed-factorization experiment end to end on its tiny config: the tables, the
results and the figure are written, and at 2x compression of a sparse planted model the
recovered model is accurate (Sharan et al.'s regime)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("matplotlib")

from experiments.compressed_factorization import main
from experiments.compressed_factorization.configs import tiny


def test_tiny_run_writes_tables_and_figure(tmp_path):
    config = tiny.get_config()
    assert main.validate(config) == []
    main.run(config, str(tmp_path))
    results = json.loads((tmp_path / "results.json").read_text())
    (row,) = results["planted"]
    assert row["ratio"] == 2 and row["compressed_error"] < 0.05
    assert "compressed time" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "phase_transition.png").stat().st_size > 0


def test_compression_matrix_is_sparse_non_negative():
    p = np.asarray(main.compression(np.random.default_rng(0), 40, 4, 3).to_dense())
    assert p.shape == (10, 40) and np.all(p >= 0)
    assert np.all((p > 0).sum(axis=0) == 3)


def test_validate_names_the_bad_fields():
    config = tiny.get_config()
    config.real = ("nope",)
    config.densities = (0.0,)
    config.p_nnz = 0
    problems = main.validate(config)
    for field in ("real", "densities", "p_nnz"):
        assert any(p.startswith(field) for p in problems), field
