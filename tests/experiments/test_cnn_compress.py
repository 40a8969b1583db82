"""The low-rank CNN experiment on its tiny config: every training row runs, the tables and
the plot are written, and a stopped run resumes from its orbax checkpoints; the decomposition
policies meet their FLOP budgets; bad configs are reported."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("orbax.checkpoint")

from flax import nnx

from experiments.cnn_compress import main
from experiments.cnn_compress.configs import default, tiny
from experiments.cnn_compress.model import VGG, model_flops
from lrjax import nn as lrnn


def _jobs(work):
    return [json.loads(line)["job"] for line in (work / "metrics.jsonl").read_text().splitlines()]


def test_tiny_run_writes_every_table_and_resumes(tmp_path):
    config = tiny.get_config()
    rows = main.run(config, str(tmp_path))
    methods = {(r["method"], r["fine_tuned"]) for r in rows}
    assert ("baseline", False) in methods and ("closed-form decomposition + KT", True) in methods
    assert ("low-rank trained from scratch", False) in methods
    assert ("force + closed-form decomposition", True) in methods
    summary = (tmp_path / "summary.md").read_text()
    for title in ("Tai et al.", "Wen et al.", "Lin et al."):
        assert f"## {title}" in summary
    assert (tmp_path / "accuracy_vs_flops.png").stat().st_size > 0
    jobs = _jobs(tmp_path)
    assert sorted(jobs) == sorted(
        ["baseline", "tai_scratch", "tai_0.5_ft", "force", "force_tai_0.5_ft", "tai_0.5_kt"]
    )
    # a run stopped after the force job: the fine-tuning of its decomposition and the later
    # jobs are gone (the force network is restored, the jobs after it are retrained)
    for job in ("force_tai_0.5_ft", "tai_0.5_kt"):
        shutil.rmtree(tmp_path / "checkpoints" / job)
    again = main.run(config, str(tmp_path))
    assert _jobs(tmp_path)[len(jobs) :] == ["force_tai_0.5_ft", "tai_0.5_kt"]
    before = {(r["method"], r["setting"], r["fine_tuned"]): r["accuracy"] for r in rows}
    for r in again:  # restored jobs give the same networks; retrained ones the same steps
        assert r["accuracy"] == before[(r["method"], r["setting"], r["fine_tuned"])]
    config.epochs = 2  # another experiment in the same workdir is refused
    with pytest.raises(ValueError, match="epochs"):
        main.run(config, str(tmp_path))


@pytest.mark.parametrize("kind", ["tai", "cp", "tucker", (2, 2, 0.5)])
def test_policies_meet_their_flop_budget(kind):
    config = default.get_config()
    config.cp_maxiter = 20
    model = VGG((16, 32, 32), 5, rngs=nnx.Rngs(0))
    small, report = lrnn.compress(model, main.policy(kind, 0.5, config))
    assert [r.path for r in report.layers] == list(main.DECOMPOSED)
    ratio = [r.flops_after / r.flops_before for r in report.layers]
    assert max(ratio) <= 0.8 and model_flops(small) < model_flops(model)
    logits, blocks = small(np.ones((2, 32, 32, 1), np.float32))
    assert logits.shape == (2, 5) and len(blocks) == 3 and np.all(np.isfinite(logits))


def test_validate_names_each_bad_field():
    config = default.get_config()
    config.rows = ("baseline", "lrdkt", "svd")
    config.tai_fractions = (0.5, 1.5)
    config.lrdkt.fraction = 0.1
    config.epochs = 0
    problems = main.validate(config)
    assert any("unknown row 'svd'" in p for p in problems)
    assert any("got 1.5" in p for p in problems)
    assert any("config.epochs must be at least 1" in p for p in problems)
    assert any("config.lrdkt.fraction (0.1)" in p for p in problems)
    with pytest.raises(ValueError, match="unknown row"):
        main.run(config, "unused")
