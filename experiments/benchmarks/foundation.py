"""Speed of lrjax's foundation routines against TensorLy / scikit-learn, same inputs, one run.

Usage:
    python -m experiments.benchmarks.foundation [--out docs/benchmarks.md] [--repeats 3]

Every figure is a best-of-``repeats`` wall time after a warm-up call (compilation excluded,
except in the first-call row), with the anchor timed in the same process on the same data.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import lrjax  # noqa: E402
from experiments.benchmarks._report import write_report  # noqa: E402  (used in foundation, re-exported)
from experiments.benchmarks.roofline import read_bandwidth  # noqa: E402


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


def _timed(run, repeats):
    """Best-of-``repeats`` time of ``run`` after a warm-up, with jaxlib's LAPACK threads at
    their default and limited to one (``lrjax.linalg.lapack_threads``)."""
    jax.block_until_ready(run())
    t_default = _best(run, repeats)
    with lrjax.linalg.lapack_threads(1):
        t_one = _best(run, repeats)
    return t_default, t_one


def bench_cp(dtype, repeats):
    """``cp_als`` vs TensorLy ``parafac``: 200^3, rank 10, 50 sweeps, random init; per sweep."""
    from tensorly.decomposition import parafac

    sweeps = 50
    x = np.asarray(jax.random.normal(jax.random.key(0), (200, 200, 200)), dtype=dtype)
    xj = jnp.asarray(x)
    key = jax.random.key(1)
    run = lambda: lrjax.cp_als(xj, 10, key=key, init="random", maxiter=sweeps, tol=0.0)
    t_lr, t_one = _timed(run, repeats)
    anchor = lambda: parafac(x, 10, n_iter_max=sweeps, init="random", tol=0, random_state=0)
    return t_lr / sweeps, t_one / sweeps, _best(anchor, repeats) / sweeps


def bench_tucker(dtype, repeats):
    """``tucker_hooi`` vs TensorLy ``tucker``: 200^3, ranks 10, 20 sweeps, SVD init."""
    from tensorly.decomposition import tucker

    x = np.asarray(jax.random.normal(jax.random.key(0), (200, 200, 200)), dtype=dtype)
    xj = jnp.asarray(x)
    run = lambda: lrjax.tucker_hooi(xj, (10, 10, 10), maxiter=20, tol=0.0)
    t_lr, t_one = _timed(run, repeats)
    anchor = lambda: tucker(x, rank=[10, 10, 10], n_iter_max=20, tol=0, init="svd")
    return t_lr, t_one, _best(anchor, repeats)


def bench_rsvd(dtype, repeats):
    """``randomized_svd`` vs scikit-learn: 4000 x 3000 rank 100 + noise, k=100, p=10, q=4."""
    from sklearn.utils.extmath import randomized_svd as sk_rsvd

    m, n, k = 4000, 3000, 100
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((n, k)))[0]
    a = ((u * np.linspace(100, 1, k)) @ v.T + 0.01 * rng.standard_normal((m, n))).astype(dtype)
    aj = jnp.asarray(a)
    run = lambda: lrjax.randomized_svd(aj, k, key=jax.random.key(0), n_oversamples=10, n_iter=4)
    t_lr, t_one = _timed(run, repeats)
    anchor = lambda: sk_rsvd(a, k, n_oversamples=10, n_iter=4, random_state=0)
    t_sk = _best(anchor, repeats)
    a64 = a.astype(np.float64)
    err = lambda usv: (
        np.linalg.norm(
            a64
            - (np.asarray(usv[0], np.float64) * np.asarray(usv[1], np.float64))
            @ np.asarray(usv[2], np.float64)
        )
        / np.linalg.norm(a64)
    )
    s_opt = np.linalg.svd(a64, compute_uv=False)
    optimum = np.sqrt(np.sum(s_opt[k:] ** 2)) / np.linalg.norm(s_opt)
    return t_lr, t_one, t_sk, (err(run()), err(anchor()), optimum)


def bench_vmap_cp(dtype, repeats):
    """``jit(vmap(cp_als))`` over 32 tensors 20^3 rank 3 vs a loop of TensorLy ``parafac``."""
    from tensorly.decomposition import parafac

    keys = jax.random.split(jax.random.key(3), 32)
    xs = jnp.stack([lrjax.testing.random_cp(k, (20,) * 3, 3, dtype=dtype).to_dense() for k in keys])
    xs = xs + 0.01 * jax.random.normal(jax.random.key(4), xs.shape, dtype=dtype)
    batched = jax.jit(jax.vmap(lambda x: lrjax.cp_als(x, 3, maxiter=100, tol=0.0)))
    t_lr, t_one = _timed(lambda: batched(xs), repeats)
    xs_np = [np.asarray(x) for x in xs]
    anchor = lambda: [parafac(x, 3, n_iter_max=100, init="svd", tol=0) for x in xs_np]
    return t_lr, t_one, _best(anchor, repeats)


def bench_first_call(dtype):
    """Trace + compile + run on shapes not compiled before in the process."""
    x = jax.random.normal(jax.random.key(5), (37, 41, 43), dtype=dtype)
    t0 = time.perf_counter()
    jax.block_until_ready(lrjax.cp_als(x, 7, maxiter=50))
    t_cp = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(lrjax.tucker_hooi(x, (5, 6, 7), maxiter=20))
    return t_cp, time.perf_counter() - t0


def _cp_sweep_vs_bound(shape, rank, dtype, repeats, sweeps=30):
    """Time per ``cp_als`` sweep (random init, ``tol=0``) and its bound: two reads of the
    tensor at the read bandwidth of a jitted ``jnp.sum`` over it, measured just before."""
    x = jax.random.normal(jax.random.key(7), shape, dtype=dtype)
    bandwidth = read_bandwidth(shape, dtype, repeats)
    run = lambda: lrjax.cp_als(
        x, rank, key=jax.random.key(8), init="random", maxiter=sweeps, tol=0.0
    )
    return _best(run, repeats) / sweeps, 2 * x.nbytes / bandwidth


def _rpca_batch(repeats):
    """64 robust PCA problems 40x40 rank 2 (5 % gross errors): ``jit(vmap(robust_pca))`` and an
    eager Python loop of ``robust_pca``, each its best of ``repeats`` after a warm-up."""
    from experiments.benchmarks.solvers import planted

    batch = jnp.stack([jnp.asarray(sum(planted(40, 2, 0.05, seed=s))) for s in range(64)])
    batched = jax.jit(jax.vmap(lambda m: lrjax.robust_pca(m)))
    loop = lambda: [jax.block_until_ready(lrjax.robust_pca(m)) for m in batch]
    return _best(lambda: batched(batch), repeats), _best(loop, repeats)


def issue29_targets(repeats: int, tucker_row) -> list[str]:
    """The performance issue's targets (issue 29), each as a ratio or as a fraction of a bound
    measured in this run; ``tucker_row`` is the float64 Tucker row of the main table."""
    from experiments.benchmarks.first_call import ROUTINES, run_child

    lines = [
        "## Targets at the machine's limit (issue 29), measured in this run",
        "",
        "Bounds: the read bandwidth of a jitted `jnp.sum` over an array of the tensor's size,",
        "measured just before each row; CP-ALS must read the tensor twice a sweep",
        "(dimension-tree MTTKRP), HOOI three times (`experiments/benchmarks/roofline.py` has",
        "the same bounds at other sizes).",
        "",
        "| target | measured | bound | fraction of bound / ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for shape, rank, dtype in [
        ((200, 200, 200), 10, np.float64),
        ((200, 200, 200), 10, np.float32),
        ((400, 100, 200), 16, np.float64),
        ((50, 60, 70, 40), 10, np.float64),
    ]:
        t, bound = _cp_sweep_vs_bound(shape, rank, dtype, repeats)
        dims = "×".join(map(str, shape))
        lines.append(
            f"| `cp_als` {dims} rank {rank} {np.dtype(dtype).name}, per sweep | {1e3 * t:.2f} ms "
            f"| {1e3 * bound:.2f} ms | {bound / t:.0%} | >= 60 % |"
        )
        print(lines[-1], flush=True)
    _task, _dt, t_lr, _t_one, _anchor, t_an = tucker_row
    x_bytes = 200**3 * 8
    bound = 20 * 3 * x_bytes / read_bandwidth((200, 200, 200), np.float64, repeats)
    lines += [
        f"| `tucker_hooi` 200³ ranks 10, 20 sweeps, float64, default threads, vs TensorLy | "
        f"{1e3 * t_lr:.0f} ms | TensorLy {1e3 * t_an:.0f} ms | {t_an / t_lr:.1f}x | >= 12x |",
        f"| same, against the bound (20 sweeps × 3 reads) | {1e3 * t_lr:.0f} ms | "
        f"{1e3 * bound:.0f} ms | {bound / t_lr:.0%} | >= 50 % (within 2x) |",
    ]
    t_batch, t_loop = _rpca_batch(repeats)
    lines.append(
        f"| `jit(vmap(robust_pca))` 64 × 40×40 vs a Python loop | {1e3 * t_batch:.0f} ms | "
        f"loop {1e3 * t_loop:.0f} ms | {t_loop / t_batch:.2f}x | >= 2x |"
    )
    for routine in ROUTINES:
        first = run_child(routine, "", "")["first"]
        after = run_child(routine, "", "", warm=True)["first"]
        lines.append(
            f"| first call of `{routine}`, fresh process, no cache (setting of "
            f"`first_call.py`; in brackets: after another lrjax call on other shapes) | "
            f"{first:.2f} s ({after:.2f} s) | | | < 1 s |"
        )
        print(lines[-1], flush=True)
    return [*lines, ""]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    import sklearn
    import tensorly

    return (
        f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, "
        f"jax {jax.__version__}, numpy {np.__version__}, tensorly {tensorly.__version__}, "
        f"scikit-learn {sklearn.__version__}, backend {jax.default_backend()}"
    )


TASKS = [
    (
        "cp",
        "`cp_als` 200³ rank 10, time per sweep (50 sweeps, tol=0)",
        "TensorLy `parafac`",
        bench_cp,
    ),
    (
        "tucker",
        "`tucker_hooi` 200³ ranks 10, 20 sweeps with ST-HOSVD init",
        "TensorLy `tucker`",
        bench_tucker,
    ),
    (
        "rsvd",
        "`randomized_svd` 4000×3000, k=100, p=10, q=4",
        "scikit-learn `randomized_svd`",
        bench_rsvd,
    ),
    (
        "vmap",
        "`jit(vmap(cp_als))` 32 × 20³ rank 3, 100 sweeps",
        "loop of TensorLy `parafac`",
        bench_vmap_cp,
    ),
]


def _targets(rows, first) -> list[str]:
    """The foundation issue's speed targets (float64), checked against this run."""
    by_task = {
        (task.split()[0], dt): (t_lr, t_one, t_an) for task, dt, t_lr, t_one, _, t_an in rows
    }
    checks = [
        ("`cp_als` sweep at most 1/3 of TensorLy's", "`cp_als`", lambda t, a: t / a, "<= 0.333"),
        (
            "`tucker_hooi` at least 5x faster than TensorLy",
            "`tucker_hooi`",
            lambda t, a: a / t,
            ">= 5",
        ),
        (
            "`randomized_svd` at least 1.5x faster than scikit-learn",
            "`randomized_svd`",
            lambda t, a: a / t,
            ">= 1.5",
        ),
        (
            "`jit(vmap(cp_als))` at least 10x faster than a TensorLy loop",
            "`jit(vmap(cp_als))`",
            lambda t, a: a / t,
            ">= 10",
        ),
    ]
    out = [
        "Targets of the foundation issue (float64), as measured in this run:",
        "",
        "| target | default | `lapack_threads(1)` | goal |",
        "|---|---|---|---|",
    ]
    for text, key, ratio, goal in checks:
        if (key, "float64") not in by_task:
            continue
        t_lr, t_one, t_an = by_task[(key, "float64")]
        out.append(f"| {text} | {ratio(t_lr, t_an):.2f} | {ratio(t_one, t_an):.2f} | {goal} |")
    out += [
        f"| first call of `cp_als` / `tucker_hooi` under 2 s | {first['float64'][0]:.2f} s / "
        f"{first['float64'][1]:.2f} s | | < 2 s |",
        "",
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="subset of: cp tucker rsvd vmap")
    args = parser.parse_args()
    import tensorly as tl

    tl.set_backend("numpy")
    rows, notes = [], []
    for name, task, anchor, fn in TASKS:
        if args.only and name not in args.only:
            continue
        for dtype in (np.float64, np.float32):
            t_lr, t_one, t_an, *extra = fn(dtype, args.repeats)
            dt = np.dtype(dtype).name
            rows.append((task, dt, t_lr, t_one, anchor, t_an))
            if extra:
                e_lr, e_an, e_opt = extra[0]
                notes.append(
                    f"- `randomized_svd` {dt}: relative error lrjax {e_lr:.6f}, scikit-learn "
                    f"{e_an:.6f}, optimum (truncated SVD) {e_opt:.6f}."
                )
            print(rows[-1], flush=True)
    first = {np.dtype(d).name: bench_first_call(d) for d in (np.float64, np.float32)}

    lines = [
        "# Benchmarks",
        "",
        "Made by `python -m experiments.benchmarks.foundation` (`make bench`). Every row times",
        "lrjax and its anchor in the same process on the same input: best of "
        f"{args.repeats} runs after a warm-up call (compilation excluded). lrjax is timed twice:",
        "with jaxlib's LAPACK (SciPy's OpenBLAS) at its default threads, and inside",
        "`lrjax.linalg.lapack_threads(1)`, which stops those threads from fighting XLA's own",
        "pool (NumPy's BLAS, used by the anchors, is a separate library and keeps its threads).",
        "",
        "On the shared 2-core VM these figures were made on, absolute times move by 10-20 % from",
        "run to run (lrjax and anchors alike), so a ratio within ~10 % of its goal can land on",
        "either side of it; compare ratios within one run, never times across runs.",
        "",
        f"Machine: {machine()}.",
        "",
        "| task | dtype | lrjax | lrjax, `lapack_threads(1)` | anchor | anchor time "
        "| anchor / lrjax | anchor / lrjax (1 thread) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, dt, t_lr, t_one, anchor, t_an in rows:
        lines.append(
            f"| {task} | {dt} | {t_lr * 1e3:.1f} ms | {t_one * 1e3:.1f} ms | {anchor} | "
            f"{t_an * 1e3:.1f} ms | {t_an / t_lr:.1f}x | {t_an / t_one:.1f}x |"
        )
    lines += ["", *notes, ""] if notes else [""]
    lines += _targets(rows, first)
    tucker64 = [r for r in rows if r[0].startswith("`tucker_hooi`") and r[1] == "float64"]
    if tucker64 and not args.only:
        lines += issue29_targets(args.repeats, tucker64[0])
    lines += [
        "First call (trace + compile + run) on shapes not seen before in the process:",
        "",
        "| routine | float64 | float32 |",
        "|---|---|---|",
        f"| `cp_als` (37×41×43, rank 7, 50 sweeps) | {first['float64'][0]:.2f} s "
        f"| {first['float32'][0]:.2f} s |",
        f"| `tucker_hooi` (37×41×43, ranks (5,6,7), 20 sweeps) | {first['float64'][1]:.2f} s "
        f"| {first['float32'][1]:.2f} s |",
        "",
    ]
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
