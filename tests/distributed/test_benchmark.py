"""experiments/benchmarks/distributed.py: its byte table equals the formulas on the small
sizes, its timings run, and the GPU script refuses to run without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from experiments.benchmarks import distributed as bench

ROOT = Path(__file__).resolve().parents[2]


def test_byte_table_matches_the_formulas_and_the_report_has_every_row():
    size = bench.SIZES["small"]
    rows = bench.bytes_table(size)
    assert {r["name"].split(" ")[0] for r in rows} >= {"cp_als", "tucker_hooi", "tsqr",
                                                       "randomized_svd", "dgd_local"}  # fmt: skip
    for r in rows:
        extra = r["measured"] - r["formula"]
        assert 0 <= extra <= 128, r  # robust_pca adds a few scalars (its stopping test)
        assert r["largest"] < r["input"], r
    times = {1: bench.child(1, size, 1), 2: bench.child(2, size, 1)}
    assert all(t > 0 for t in times[2].values())
    text = bench.report("small", rows, times, "test machine")
    assert "| cp_als (10 sweeps) |" in text and "2 devices" in text


def test_gpu_script_needs_a_gpu():
    out = subprocess.run(
        ["bash", str(ROOT / "experiments/benchmarks/gpu.sh")],
        env={"PY": sys.executable, "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2 and "sees no GPU" in out.stderr, out.stderr
