"""Two JAX processes on 127.0.0.1 (one CPU device each, collectives through gloo): the tiny
polyphonic config trained across them and a tensor split between them, both against the
single-process result; a process count the coordinator does not see stops before the workdir
is touched, and the run then resumes."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

pytest.importorskip("orbax.checkpoint")

import lrjax
from experiments.polyphonic.configs import tiny
from experiments.polyphonic.main import Interrupted, run

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("two_process_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(port: int, processes: int, pid: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(
        XLA_FLAGS="--xla_force_host_platform_device_count=1 --xla_cpu_use_fusion_emitters=false",
        PYTHONPATH=str(ROOT),
        JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
        JAX_NUM_PROCESSES=str(processes),
        JAX_PROCESS_ID=str(pid),
        JAX_PLATFORMS="cpu",
        # compiled like the test process (conftest.py, tests/conftest.py): faster, and the same
        # programs
        JAX_DISABLE_MOST_OPTIMIZATIONS="true",
    )
    return env


def test_two_processes_train_and_decompose_like_one(tmp_path):
    port = _free_port()
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    command = [sys.executable, str(WORKER), str(out), str(work)]
    options = dict(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    procs = [subprocess.Popen(command, env=_env(port, 2, pid), **options) for pid in (0, 1)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=240)[0])
    finally:
        for p in procs:
            p.kill()
    assert all(p.returncode == 0 for p in procs), "\n\n".join(s[-3000:] for s in logs)
    got = [json.loads((out / f"process{i}.json").read_text()) for i in (0, 1)]
    assert [g["devices"] for g in got] == [2, 2]
    assert [g["local_rows"] for g in got] == [[4], [4]]  # each process holds half the tensor
    # the run: both processes agree, process 0 wrote the records, and it is the 1-process run
    assert got[0]["result"] == got[1]["result"]
    assert (work / "result.json").is_file() and (work / "metrics.jsonl").is_file()
    config = tiny.get_config()
    config.mesh.data = 1
    single = run(config, tmp_path / "single")
    for key in ("valid_nll", "test_nll"):
        np.testing.assert_allclose(got[0]["result"][key], single[key], rtol=1e-5)
    # the decomposition of the split tensor equals the single-process one
    x = lrjax.testing.random_cp(jax.random.key(7), (8, 6, 5), 3).to_dense()
    ref = np.asarray(lrjax.cp_als(x, 3, tol=1e-12, maxiter=200).cp.to_dense())
    for g in got:
        for name in ("lrjax", "distributed"):
            np.testing.assert_allclose(np.asarray(g["dense"][name]), ref, atol=1e-7, err_msg=name)


def _digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_a_process_count_the_coordinator_does_not_see_leaves_the_workdir_resumable(tmp_path):
    work = tmp_path / "work"
    config = tiny.get_config()
    config.mesh.data = 1
    config.stop_after_steps = 3
    with pytest.raises(Interrupted):
        run(config, work)
    config.stop_after_steps = -1
    before = _digest(work)
    # one process of two: the rendezvous times out and the runtime stops the process
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.polyphonic",
         "--config=experiments/polyphonic/configs/tiny.py", "--config.mesh.data=1",
         "--config.distributed.timeout_s=2", f"--workdir={work}"],
        env=_env(_free_port(), 2, 0), capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "config.distributed.num_processes = 2" in proc.stderr, proc.stderr[-2000:]
    assert _digest(work) == before  # nothing written, nothing lost
    result = run(config, work)  # and the interrupted run resumes to its end
    assert result["finished"] and result["epochs_run"] == 2
