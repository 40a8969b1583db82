"""experiments/benchmarks/distributed.py: its byte table equals the formulas on the small
sizes, a timing runs, the report shows ratios, and the GPU script refuses to run without a GPU."""

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
    fn, data, _ = bench._problems(size, 2)["tsqr"]
    seconds = bench._time(fn, data, 1)  # the timing of one row, on 2 of the 8 devices
    assert seconds > 0
    times = {1: {"tsqr": 2 * seconds, "cp_als (10 sweeps)": 1.0}, 2: {"tsqr": seconds}}
    text = bench.report("small", rows, times, "test machine")
    assert "| tsqr | " in text and "0.50x" in text and "| –" in text
    assert "| cp_als (10 sweeps) |" in text and "2 devices" in text


def test_gpu_script_needs_a_gpu():
    out = subprocess.run(
        ["bash", str(ROOT / "experiments/benchmarks/gpu.sh")],
        env={"PY": sys.executable, "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2 and "sees no GPU" in out.stderr, out.stderr
