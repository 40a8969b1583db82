"""What every runner does with its command line and its workdir (issue 26, items 16-20): the
config is checked before anything runs, ``--help`` lists the fields, a workdir belongs to one
run at a time, a damaged checkpoint or a torn log line does not stop the next run, and an
imaging run refuses to resume under another config."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("orbax.checkpoint")

from experiments._imaging import RowLog
from experiments._workdir import WorkdirBusy, WorkdirLock, read_jsonl
from experiments.polyphonic.configs import tiny
from experiments.polyphonic.configuration import validate

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env=env,
    )  # fmt: skip


def test_help_lists_flags_and_config_fields():
    out = _cli("experiments.msi_denoise", "--help")
    assert out.returncode == 0, out.stderr
    for text in ("--config", "--workdir", "sigmas", "nl_patch", "dtype"):
        assert text in out.stdout, text
    out = _cli(
        "experiments.polyphonic", "--help", "--config=experiments/polyphonic/configs/tiny.py"
    )
    assert out.returncode == 0 and "cell.rank" in out.stdout and "learning_rate" in out.stdout


def test_unknown_field_and_bad_values_are_one_line_each(tmp_path):
    out = _cli(
        "experiments.polyphonic", "--config=experiments/polyphonic/configs/tiny.py",
        "--config.foo=1", f"--workdir={tmp_path / 'a'}",
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: unknown config field(s): foo (--help lists the fields)"
    ]
    out = _cli(
        "experiments.polyphonic", "--config=experiments/polyphonic/configs/tiny.py",
        "--config.batch_size=0", "--config.learning_rate=-1", "--config.dropout=1.5",
        f"--workdir={tmp_path / 'b'}",
    )  # fmt: skip
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: config.") for line in lines), lines
    assert not (tmp_path / "b").exists()  # nothing ran


def test_validate_names_every_problem():
    c = tiny.get_config()
    assert validate(c) == []
    c.batch_size, c.max_epochs, c.checkpoint_every_steps = 0, 0, 0
    c.learning_rate, c.dropout, c.cell.kind = -1e-3, 1.5, "lstm"
    problems = validate(c)
    for field in ("batch_size", "max_epochs", "checkpoint_every_steps", "learning_rate",
                  "dropout", "cell.kind"):  # fmt: skip
        assert any(f"config.{field} " in p for p in problems), (field, problems)


def test_float64_config_runs_in_float64(tmp_path):
    out = _cli(
        "experiments.msi_denoise", "--config=experiments/msi_denoise/configs/tiny.py",
        "--config.dtype=float64", "--config.methods=('bandwise_svt',)",
        f"--workdir={tmp_path}", timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(float64)" in (tmp_path / "summary.md").read_text()
    out = _cli(
        "experiments.msi_denoise", "--config=experiments/msi_denoise/configs/tiny.py",
        "--config.dtype=float16", f"--workdir={tmp_path / 'c'}",
    )  # fmt: skip
    assert out.returncode == 2 and "config.dtype must be" in out.stderr


def _hold(path: str, ready, release) -> None:
    with WorkdirLock(path):
        ready.set()
        release.wait(30)


def test_workdir_lock_refuses_a_second_run_and_recovers_from_a_dead_one(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(WorkdirBusy, match=rf"in use by another run \(PID {holder.pid}"):
            with WorkdirLock(tmp_path):
                pass
        # the polyphonic runner itself refuses, before touching anything
        with pytest.raises(WorkdirBusy):
            from experiments.polyphonic.main import run

            run(tiny.get_config(), tmp_path)
        assert not (tmp_path / "config.json").exists()
    finally:
        release.set()
        holder.join(30)
    # a holder killed without cleaning up: its flock died with it, the next run proceeds
    ready2, never = ctx.Event(), ctx.Event()  # kept referenced until the child has them
    killed = ctx.Process(target=_hold, args=(str(tmp_path), ready2, never))
    killed.start()
    assert ready2.wait(60)
    killed.kill()
    killed.join(30)
    with WorkdirLock(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()


def test_torn_last_line_is_dropped_and_a_bad_middle_line_is_named(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"key": "a", "v": 1}\n{"key": "b", "v": 2}\n{"key": "c", "v"')
    assert [r["key"] for r in read_jsonl(log)] == ["a", "b"]
    assert log.read_text() == '{"key": "a", "v": 1}\n{"key": "b", "v": 2}\n'
    log.write_text('{"key": "a"}\nnot json\n{"key": "c"}\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl, line 2: not valid JSON"):
        read_jsonl(log)


def test_imaging_resume_with_another_config_is_refused(tmp_path):
    import ml_collections

    from experiments.msi_denoise.configs import tiny as msi_tiny
    from experiments.msi_denoise.main import JOB_FIELDS

    config = msi_tiny.get_config()
    log = RowLog(tmp_path, config, may_change=JOB_FIELDS)
    log.add({"key": "chart/sigma30/noisy", "mpsnr": 1.0})
    (tmp_path / "metrics.jsonl").write_text(
        (tmp_path / "metrics.jsonl").read_text() + '{"key": "torn'
    )  # killed mid-write
    more = ml_collections.ConfigDict(config.to_dict())
    more.sigmas, more.methods = (10, 30), ("tucker",)  # more jobs: allowed
    assert "chart/sigma30/noisy" in RowLog(tmp_path, more, may_change=JOB_FIELDS)
    other = ml_collections.ConfigDict(config.to_dict())
    other.crop = 32
    with pytest.raises(ValueError, match=r"crop: 24 in the run, 32 given"):
        RowLog(tmp_path, other, may_change=JOB_FIELDS)


def test_corrupt_latest_checkpoint_falls_back_to_an_intact_one(tmp_path, capsys):
    from experiments.polyphonic.main import Interrupted, run

    c = tiny.get_config()
    c.max_epochs, c.checkpoint_every_steps = 2, 1
    reference = run(c, tmp_path / "ref")
    c.stop_after_steps = 3  # killed in epoch 2, after checkpoints of steps 2 and 3
    with pytest.raises(Interrupted):
        run(c, tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoints"
    steps = sorted(int(p.name) for p in ckpt.iterdir() if p.name.isdigit())
    assert len(steps) == 2
    latest = ckpt / str(steps[-1])
    for f in latest.rglob("*"):  # damage every file of the newest checkpoint
        if f.is_file():
            f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
    c.stop_after_steps = -1
    resumed = run(c, tmp_path / "run")
    assert "does not restore" in capsys.readouterr().out
    assert (tmp_path / "run" / "corrupt_checkpoints" / str(steps[-1])).is_dir()
    assert resumed["test_nll"] == pytest.approx(reference["test_nll"], rel=1e-6)
    time.sleep(0)  # the manager is closed: nothing left running
