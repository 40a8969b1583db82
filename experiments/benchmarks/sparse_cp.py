"""CP-ALS of sparse (BCOO) tensors against the dense path on the same tensor.

Usage:
    python -m experiments.benchmarks.sparse_cp [--out docs/benchmarks_sparse.md] [--repeats 3]

float64, random coordinates (unique), standard normal values, rank 10, 20 sweeps from the same
random start (``init="random"``, one key) for both paths, which then reach the same error;
compiled before timing, best of ``repeats``. The anchor is lrjax's own dense ``cp_als`` on
``x.todense()`` in the same process (TensorLy's sparse backend needs the ``sparse`` package,
not a dependency here). The largest case has no dense anchor: its dense tensor would not fit
in memory.
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import lrjax  # noqa: E402
from experiments.benchmarks._common import best_time  # noqa: E402
from experiments.benchmarks._report import write_report  # noqa: E402

RANK, SWEEPS = 10, 20


def random_coordinates(shape, nnz: int, seed: int = 0):
    """A BCOO tensor of ``shape`` with ``nnz`` distinct random coordinates, normal values."""
    from jax.experimental import sparse

    rng = np.random.default_rng(seed)
    flat = rng.choice(int(np.prod(shape, dtype=np.float64)), size=nnz, replace=False)
    idx = np.stack(np.unravel_index(np.sort(flat), shape), axis=1).astype(np.int32)
    return sparse.BCOO(
        (jnp.asarray(rng.standard_normal(nnz)), jnp.asarray(idx)),
        shape=tuple(shape),
        indices_sorted=True,
        unique_indices=True,
    )


def bench(shape, nnz, repeats, dense_anchor=True):
    """``(sparse seconds, dense seconds or None, sparse error, dense error or None)``."""
    x = random_coordinates(shape, nnz)
    key = jax.random.key(0)
    run = lambda t: lrjax.cp_als(t, RANK, init="random", key=key, maxiter=SWEEPS, tol=0.0)
    t_sparse = best_time(lambda: run(x), repeats)
    err_sparse = float(run(x).info.error)
    if not dense_anchor:
        return t_sparse, None, err_sparse, None
    dense = x.todense()
    t_dense = best_time(lambda: run(dense), repeats)
    return t_sparse, t_dense, err_sparse, float(run(dense).info.error)


CASES = (
    ((200, 200, 200), 40_000, True),
    ((200, 200, 200), 400_000, True),
    ((100, 80, 60, 40), 100_000, True),
    ((2000, 2000, 2000), 1_000_000, False),
)
TINY = (((20, 18, 16), 300, True),)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/benchmarks_sparse.md")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="one small case (a smoke test)")
    args = parser.parse_args(argv)
    lines = [
        "# CP-ALS of sparse tensors",
        "",
        "```bash",
        "python -m experiments.benchmarks.sparse_cp",
        "```",
        "",
        f"jax {jax.__version__}, {os.cpu_count()} CPU cores, float64, rank {RANK}, {SWEEPS} "
        f"sweeps from one random start, best of {args.repeats}; speedup = the dense path's "
        "time over the sparse path's, measured in the same process.",
        "",
        "| shape | stored entries (density) | sparse (ms) | dense (ms) | speedup | "
        "rel. error sparse | rel. error dense |",
        "|---|---|---|---|---|---|---|",
    ]
    for shape, nnz, anchor in TINY if args.tiny else CASES:
        ts, td, es, ed = bench(shape, nnz, args.repeats, anchor)
        density = nnz / float(np.prod(shape, dtype=np.float64))
        dims = "×".join(map(str, shape))
        if td is None:
            lines.append(
                f"| {dims} | {nnz:,} ({density:.1e}) | {1e3 * ts:.1f} | (dense: "
                f"{8 * np.prod(shape, dtype=np.float64) / 2**30:.0f} GiB) | | {es:.4f} | |"
            )
        else:
            lines.append(
                f"| {dims} | {nnz:,} ({density:.1e}) | {1e3 * ts:.1f} | {1e3 * td:.1f} | "
                f"{td / ts:.1f}x | {es:.4f} | {ed:.4f} |"
            )
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
