"""The benchmark reports keep what was written by hand below their marker."""

from experiments.benchmarks._report import KEEP_MARKER, write_report


def test_new_report_is_the_lines(tmp_path, capsys):
    path = tmp_path / "sub" / "report.md"
    write_report(str(path), ["# title", "", "| a |", ""])
    assert path.read_text() == "# title\n\n| a |\n"
    assert "| a |" in capsys.readouterr().out


def test_rewrite_replaces_the_generated_part_and_keeps_the_hand_written_tail(tmp_path):
    path = tmp_path / "report.md"
    hand = f"{KEEP_MARKER}\n\n## Notes\n\nmeasured by hand: 1.23 s\n"
    path.write_text(f"# old\n\n| 1 |\n\n{hand}")
    write_report(str(path), ["# new", "", "| 2 |", ""])
    assert path.read_text() == f"# new\n\n| 2 |\n\n{hand}"
    write_report(str(path), ["# newer", ""])  # twice: the tail is not duplicated
    assert path.read_text() == f"# newer\n\n{hand}"


def test_a_file_without_the_marker_is_replaced_whole(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("# old\n\nold notes\n")
    write_report(str(path), ["# new", ""])
    assert path.read_text() == "# new\n"


def test_roofline_tiny_run_measures_its_bounds_and_every_routine(tmp_path):
    """The GPU table's script, at the smoke-test sizes on the CPU: the bounds are measured and
    each routine gets a time and a fraction; the numbers in the table are the computed ones."""
    import re

    import jax

    from experiments.benchmarks import roofline

    out = tmp_path / "roof.md"
    with jax.enable_x64(False):
        lines = roofline.main(["--size", "tiny", "--repeats", "1", "--out", str(out)])
    text = out.read_text()
    assert text.startswith("# Roofline") and "--size tiny" in text
    gemm = float(re.search(r"GEMM ([0-9.]+) GFLOP/s", text).group(1))
    # three significant digits: a loaded machine's tiny-size bandwidth (under 0.05 GB/s once)
    # must not print as 0.0
    bandwidth = float(re.search(r"bandwidth ([0-9.e+-]+) GB/s", text).group(1))
    assert gemm > 0 and bandwidth > 0
    rows = [line for line in lines if line.startswith("| `") or line.startswith("| poly")]
    assert len(rows) == 5
    for row in rows:
        assert re.search(r"\| [0-9.]+ ms \| [0-9]+(%| us)", row), row
    # the randomized SVD's fraction is its flop count over its time at the measured GEMM rate
    m, n, k = roofline.SIZES["tiny"]["rsvd"]
    t_ms = float(re.search(r"randomized_svd.*?\| ([0-9.]+) ms", text).group(1))
    pct = int(re.search(r"randomized_svd.*?\| ([0-9]+)% of GEMM", text).group(1))
    want = 2.0 * m * n * (k + 10) * (2 + 2 * 4) / (t_ms / 1e3) / (gemm * 1e9)
    # the printed figures are rounded (GEMM to 0.1 GFLOP/s, the time to 0.01 ms): on a slow or
    # loaded machine (GEMM near 1 GFLOP/s) that rounding alone moves the fraction by ~5 %
    rounding = 0.02 + 0.05 / gemm + 0.005 / t_ms
    assert abs(pct - 100 * want) <= 1 + rounding * 100 * want


def test_sparse_cp_tiny_run_reports_both_paths(tmp_path):
    """The sparse benchmark at its smoke-test size: both paths timed, the same error."""
    import re

    from experiments.benchmarks import sparse_cp

    out = tmp_path / "sparse.md"
    sparse_cp.main(["--tiny", "--repeats", "1", "--out", str(out)])
    row = next(line for line in out.read_text().splitlines() if line.startswith("| 20×18×16"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[2]) > 0 and float(cells[3]) > 0 and re.fullmatch(r"[0-9.]+x", cells[4])
    assert cells[5] == cells[6]  # the sparse and dense paths reach the same error


def test_first_call_measures_a_cold_and_a_cached_process():
    """Two fresh processes on one cache directory: the second reuses the first one's compiled
    programs (counted as persistent-cache hits, not timed: on a loaded 2-core machine the
    cached first call was once slower than the cold one, 1.74 against 1.17 s); steady state
    is a later call of the first."""
    from experiments.benchmarks import first_call

    cold, cached = first_call.measure_runs("proximal_gradient", "")
    # the cold process also hits its own entries (measured: 5, in its later calls); the
    # second one hits those and the first call's programs too
    assert cached["cache_hits"] > cold["cache_hits"], (cold, cached)
    assert 0 < cold["steady"] < cold["first"] and cached["first"] > 0
    # the first call's stages, from jax.monitoring: traced, lowered and compiled, in its time
    assert 0 < cold["trace"] and 0 < cold["lower"] and 0 < cold["compile"] < cold["first"]
