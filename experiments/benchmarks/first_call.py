"""First calls (trace + compile + run) of lrjax's main routines on new shapes, cold and with
JAX's persistent compilation cache; and the steady-state time. (lrjax compiles the programs
of its eager CPU calls with XLA:CPU's fusion emitters off, ``lrjax._sharding``'s
``CPU_COMPILER_OPTIONS``: no process-wide flag is involved.)

Usage:
    python -m experiments.benchmarks.first_call [--out docs/benchmarks_first_call.md]

Every measurement runs in a fresh Python process (a first call is only first once per
process): ``cold`` with an empty cache directory, ``cached`` in a second process that reuses
the directory the first one filled. Steady state is the best of 5 later calls.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from experiments.benchmarks._report import write_report

ROUTINES = ("cp_als", "tucker_hooi", "robust_pca", "proximal_gradient")
# Routines whose programs draw random numbers (random starts, a Gaussian test matrix): lrjax
# draws them flat (lrjax._random), which XLA:CPU compiles 2-5x faster than N-d draws.
RANDOM_DRAWS = ("cp_als_random", "tucker_hooi_random", "randomized_svd")
LABELS = {
    "cp_als_random": 'cp_als(init="random")',
    "tucker_hooi_random": 'tucker_hooi(init="random")',
}

CHILD = r"""
import collections, json, sys, time
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(1) if event == "/jax/compilation_cache/cache_hits" else None
)
stages = collections.Counter()
jax.monitoring.register_event_duration_secs_listener(
    lambda event, secs, **kw: stages.update({event.rsplit("/", 1)[-1]: secs})
)
cache = sys.argv[2]
if cache:
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
import lrjax
x = jnp.asarray(np.random.default_rng(0).standard_normal((60, 50, 40)))
m = jnp.asarray(np.random.default_rng(1).standard_normal((300, 200)))
fns = {
    "cp_als": lambda: lrjax.cp_als(x, 5, maxiter=50),
    "tucker_hooi": lambda: lrjax.tucker_hooi(x, (5, 5, 5), maxiter=20),
    "robust_pca": lambda: lrjax.robust_pca(m, maxiter=100),
    "cp_als_random": lambda: lrjax.cp_als(x, 5, init="random", key=jax.random.key(0),
                                          maxiter=50),
    "tucker_hooi_random": lambda: lrjax.tucker_hooi(x, (5, 5, 5), init="random",
                                                    key=jax.random.key(0), maxiter=20),
    "randomized_svd": lambda: lrjax.randomized_svd(m, 10, key=jax.random.key(0)),
    "proximal_gradient": lambda: lrjax.solvers.proximal_gradient(
        lambda z, b: 0.5 * jnp.sum((z - b) ** 2), jnp.zeros_like(m), (m,),
        prox=lrjax.prox.prox_nuclear, hyperparams_prox=1.0, maxiter=50),
}
f = fns[sys.argv[1]]
if len(sys.argv) > 3 and sys.argv[3] == "warm":
    # what a process that already ran some lrjax call has paid once: jaxlib loading its CPU
    # LAPACK (through scipy.linalg) and XLA's first compile; the shapes below are not the
    # routine's, so its own programs are still new
    jax.block_until_ready(lrjax.truncated_svd(jnp.ones((7, 5)), 2))
    stages.clear()
t0 = time.perf_counter(); jax.block_until_ready(f()); first = time.perf_counter() - t0
during = dict(stages)
steady = []
for _ in range(5):
    t0 = time.perf_counter(); jax.block_until_ready(f()); steady.append(time.perf_counter() - t0)
print(json.dumps({"first": first, "steady": min(steady), "cache_hits": len(hits),
                  "trace": during.get("jaxpr_trace_duration", 0.0),
                  "lower": during.get("jaxpr_to_mlir_module_duration", 0.0),
                  "compile": during.get("backend_compile_duration", 0.0)}))
"""


def run_child(routine: str, cache: str, flags: str, *, warm: bool = False) -> dict:
    """One fresh Python process timing ``routine``: its first call and steady state (s), and
    the first call's trace, lowering and XLA compile times. ``warm``: the process first runs
    another lrjax call on other shapes (one-time costs paid, the routine's programs new)."""
    env = dict(os.environ, XLA_FLAGS=flags)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, routine, cache, "warm" if warm else "cold"],
        env=env, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_runs(routine: str, flags: str) -> tuple[dict, dict]:
    """The two fresh processes on one new cache directory: ``(cold, cached)``, each with its
    first call and steady state (s) and its number of persistent-cache hits."""
    with tempfile.TemporaryDirectory() as cache:
        cold = run_child(routine, cache, flags)
        warm = run_child(routine, cache, flags)
    return cold, warm


def measure(routine: str, flags: str) -> tuple[float, float, float]:
    """(cold first call, cached first call, steady state) in seconds."""
    cold, warm = measure_runs(routine, flags)
    return cold["first"], warm["first"], cold["steady"]


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/benchmarks_first_call.md")
    args = parser.parse_args(argv)
    rows = []
    for routine in ROUTINES + RANDOM_DRAWS:
        cold, cached, steady = measure(routine, "")
        warm = run_child(routine, "", "", warm=True)
        label = LABELS.get(routine, routine)
        rows.append(
            f"| `{label}` | {cold:.2f} s | {cached:.2f} s | {warm['first']:.2f} s | "
            f"{warm['trace']:.2f} / {warm['lower']:.2f} / {warm['compile']:.2f} s | "
            f"{1e3 * steady:.1f} ms |"
        )
        print(rows[-1], flush=True)
    lines = [
        "# First calls: compile time on new shapes",
        "",
        f"Command: `python -m experiments.benchmarks.first_call --out {args.out}` (float64; "
        "`cp_als` 60x50x40 rank 5, 50 sweeps; `tucker_hooi` ranks (5, 5, 5), 20 sweeps; "
        "`robust_pca` and `proximal_gradient` (nuclear-norm prox, 50 steps) on 300x200; the "
        "random starts on the same tensor and `randomized_svd` rank 10 of the 300x200 "
        "matrix, whose programs draw random numbers). Each "
        "cell is one fresh process: `cold` with an empty persistent cache, `cached` a second "
        "process reusing it; steady state is the best of 5 later calls in the cold process. "
        "lrjax compiles the programs of eager CPU calls with XLA:CPU's fusion emitters off "
        "(per program, no process-wide flag). Goal of issue 29: every cold first call < 1 s.",
        "",
        "`after another call` is a third fresh process that first runs `truncated_svd` on a "
        "7x5 matrix (other shapes), so it has paid the once-per-process costs a cold first call "
        "includes (jaxlib loads its CPU LAPACK through `scipy.linalg`, about 0.2 s, and XLA's "
        "first compile) while the routine's own programs are still new: the first call on new "
        "shapes in a session that already ran lrjax. Its time splits into JAX's trace, its "
        "lowering to MLIR and XLA's compile (`jax.monitoring` durations); the rest is running "
        "the program and Python.",
        "",
        "| routine | first call, cold | first call, cached | first call after another call "
        "| of which trace / lower / compile | steady state |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    write_report(args.out, lines)
    return lines


if __name__ == "__main__":
    main()
