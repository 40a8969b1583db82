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


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_cp(dtype, repeats):
    import tensorly as tl
    from tensorly.decomposition import parafac

    tl.set_backend("numpy")
    shape, rank, sweeps = (200, 200, 200), 10, 50
    x = np.asarray(jax.random.normal(jax.random.key(0), shape), dtype=dtype)
    xj = jnp.asarray(x)
    run = lambda: lrjax.cp_als(
        xj, rank, key=jax.random.key(1), init="random", maxiter=sweeps, tol=0.0
    )
    jax.block_until_ready(run())
    t_lr = _best(run, repeats) / sweeps
    t_tl = _best(
        lambda: parafac(x, rank, n_iter_max=sweeps, init="random", tol=0, random_state=0), 1
    )
    return t_lr, t_tl / sweeps


def bench_tucker(dtype, repeats):
    import tensorly as tl
    from tensorly.decomposition import tucker

    tl.set_backend("numpy")
    shape, ranks, sweeps = (200, 200, 200), (10, 10, 10), 20
    x = np.asarray(jax.random.normal(jax.random.key(0), shape), dtype=dtype)
    xj = jnp.asarray(x)
    run = lambda: lrjax.tucker_hooi(xj, ranks, maxiter=sweeps, tol=0.0)
    jax.block_until_ready(run())
    t_lr = _best(run, repeats)
    t_tl = _best(lambda: tucker(x, rank=list(ranks), n_iter_max=sweeps, tol=0, init="svd"), 1)
    return t_lr, t_tl


def bench_rsvd(dtype, repeats):
    from sklearn.utils.extmath import randomized_svd as sk_rsvd

    m, n, k = 4000, 3000, 100
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((m, k)))[0]
    v = np.linalg.qr(rng.standard_normal((n, k)))[0]
    a = ((u * np.linspace(100, 1, k)) @ v.T + 0.01 * rng.standard_normal((m, n))).astype(dtype)
    aj = jnp.asarray(a)
    run = lambda: lrjax.randomized_svd(aj, k, key=jax.random.key(0), n_oversamples=10, n_iter=4)
    jax.block_until_ready(run())
    t_lr = _best(run, repeats)
    t_sk = _best(lambda: sk_rsvd(a, k, n_oversamples=10, n_iter=4, random_state=0), repeats)
    ul, sl, vl = (np.asarray(z, dtype=np.float64) for z in run())
    us, ss, vs = sk_rsvd(a, k, n_oversamples=10, n_iter=4, random_state=0)
    a64 = a.astype(np.float64)
    err = lambda u, s, vt: np.linalg.norm(a64 - (u * s) @ vt) / np.linalg.norm(a64)
    return t_lr, t_sk, err(ul, sl, vl), err(us, ss, vs)


def bench_vmap_cp(dtype, repeats):
    import tensorly as tl
    from tensorly.decomposition import parafac

    tl.set_backend("numpy")
    keys = jax.random.split(jax.random.key(3), 32)
    xs = jnp.stack(
        [lrjax.testing.random_cp(k, (20, 20, 20), 3, dtype=dtype).to_dense() for k in keys]
    )
    xs = xs + 0.01 * jax.random.normal(jax.random.key(4), xs.shape, dtype=dtype)
    sweeps = 100
    batched = jax.jit(jax.vmap(lambda x: lrjax.cp_als(x, 3, maxiter=sweeps, tol=0.0)))
    jax.block_until_ready(batched(xs))
    t_lr = _best(lambda: batched(xs), repeats)
    xs_np = [np.asarray(x) for x in xs]
    t_tl = _best(lambda: [parafac(x, 3, n_iter_max=sweeps, init="svd", tol=0) for x in xs_np], 1)
    return t_lr, t_tl


def bench_first_call(dtype):
    shape = (37, 41, 43)  # shapes not compiled before in this process
    x = jax.random.normal(jax.random.key(5), shape, dtype=dtype)
    t0 = time.perf_counter()
    jax.block_until_ready(lrjax.cp_als(x, 7, maxiter=50))
    t_cp = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(lrjax.tucker_hooi(x, (5, 6, 7), maxiter=20))
    t_tk = time.perf_counter() - t0
    return t_cp, t_tk


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        t_lr, t_tl = bench_cp(dtype, args.repeats)
        rows.append(
            (
                f"`cp_als` 200³ rank 10, per sweep (50 sweeps, tol=0)",
                name,
                t_lr,
                "TensorLy `parafac`",
                t_tl,
            )
        )
        print(rows[-1], flush=True)
        t_lr, t_tl = bench_tucker(dtype, args.repeats)
        rows.append(
            (
                "`tucker_hooi` 200³ ranks (10,10,10), 20 sweeps incl. init",
                name,
                t_lr,
                "TensorLy `tucker`",
                t_tl,
            )
        )
        print(rows[-1], flush=True)
        t_lr, t_sk, e_lr, e_sk = bench_rsvd(dtype, args.repeats)
        rows.append(
            (
                f"`randomized_svd` 4000×3000, rank 100, 4 power its (error {e_lr:.6f} vs {e_sk:.6f})",
                name,
                t_lr,
                "scikit-learn `randomized_svd`",
                t_sk,
            )
        )
        print(rows[-1], flush=True)
        t_lr, t_tl = bench_vmap_cp(dtype, args.repeats)
        rows.append(
            (
                "`jit(vmap(cp_als))` 32 × 20³ rank 3, 100 sweeps",
                name,
                t_lr,
                "loop of TensorLy `parafac`",
                t_tl,
            )
        )
        print(rows[-1], flush=True)
    first = {np.dtype(d).name: bench_first_call(d) for d in (np.float64, np.float32)}

    lines = [
        "# Benchmarks",
        "",
        "Made by `python -m experiments.benchmarks.foundation` (or `make bench`); every row",
        "times lrjax and its anchor in the same process on the same input. Times are the best of",
        f"{args.repeats} runs after a warm-up call (compilation excluded); the anchors run once.",
        "",
        f"Machine: {machine()}.",
        "",
        "| task | dtype | lrjax | anchor | anchor time | lrjax / anchor | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, dt, t_lr, anchor, t_an in rows:
        lines.append(
            f"| {task} | {dt} | {t_lr * 1e3:.1f} ms | {anchor} | {t_an * 1e3:.1f} ms | "
            f"{t_lr / t_an:.3f} | {t_an / t_lr:.1f}x |"
        )
    lines += [
        "",
        "First call (trace + compile + run) on shapes not seen before in the process:",
        "",
        "| routine | float64 | float32 |",
        "|---|---|---|",
        f"| `cp_als` (37×41×43, rank 7, 50 sweeps) | {first['float64'][0]:.2f} s | {first['float32'][0]:.2f} s |",
        f"| `tucker_hooi` (37×41×43, ranks (5,6,7), 20 sweeps) | {first['float64'][1]:.2f} s | {first['float32'][1]:.2f} s |",
        "",
    ]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
