"""lrjax's heavy routines against the machine's own limits, measured in the same run.

Usage:
    python -m experiments.benchmarks.roofline [--size tiny|cpu|gpu] [--dtype float32]
        [--repeats 3] [--out docs/benchmarks_roofline.md]

Two bounds are measured first, on the device JAX uses: the GEMM rate (a jitted ``n x n``
matmul, ``2 n^3`` flops) and the read bandwidth (a jitted ``jnp.sum`` over an array of the CP
tensor's size). Each routine is then timed (best of ``repeats`` after a warm-up call) and
reported as the fraction of the bound that limits it:

* ``cp_als``: a sweep must read the tensor at least twice (dimension-tree MTTKRP), so its
  bound is ``2 * bytes / bandwidth`` per sweep;
* ``tucker_hooi``: three reads of the tensor per sweep (``3 * bytes / bandwidth``);
* ``randomized_svd``: ``2 m n l (2 + 2 q)`` flops (sketch, ``q`` power iterations of two
  products, the projection; ``l = k + oversampling``) at the GEMM rate;
* a ``TTLinear`` forward pass: its ``flops_per_example()`` times the batch at the GEMM rate;
* the polyphonic TT-GRU training step at batch 64 (the paper's model): time per step and
  per frame (no single bound: it is a recurrence of small products).

``--size gpu`` uses the sizes that fill a GPU (CP-ALS 512^3 rank 32, randomized SVD 32768 x
8192 k = 256); ``cpu`` sizes fit a 2-core machine in minutes; ``tiny`` is the smoke test.
``experiments/benchmarks/gpu.sh`` runs it on a GPU into ``docs/benchmarks_gpu.md``.
"""

from __future__ import annotations

import argparse
import platform

import jax
import jax.numpy as jnp
import numpy as np

import lrjax
from experiments.benchmarks._common import best_time
from experiments.benchmarks._report import write_report

SIZES = {
    # gemm n, cp (n, rank, sweeps), tucker (n, rank, sweeps), rsvd (m, n, k), tt (modes, rank,
    # batch), polyphonic (batch, frames)
    "tiny": dict(gemm=128, cp=(24, 3, 5), tucker=(24, 3, 3), rsvd=(256, 128, 8),
                 tt=((4, 4, 4), 3, 16), poly=(4, 16)),
    "cpu": dict(gemm=2048, cp=(200, 10, 20), tucker=(200, 10, 10), rsvd=(4000, 3000, 100),
                tt=((8, 8, 8, 8), 16, 256), poly=(64, 128)),
    "gpu": dict(gemm=8192, cp=(512, 32, 20), tucker=(512, 32, 10), rsvd=(32768, 8192, 256),
                tt=((8, 8, 8, 8), 32, 4096), poly=(64, 512)),
}  # fmt: skip


def gemm_rate(n: int, dtype, repeats: int) -> float:
    """Flop/s of a jitted ``n x n`` matmul."""
    k1, k2 = jax.random.split(jax.random.key(0))
    a, b = (jax.random.normal(k, (n, n), dtype) for k in (k1, k2))
    f = jax.jit(jnp.matmul)
    return 2.0 * n**3 / best_time(lambda: f(a, b), repeats)


def read_bandwidth(shape, dtype, repeats: int) -> float:
    """Bytes/s of a jitted ``jnp.sum`` over an array of ``shape``."""
    x = jax.random.normal(jax.random.key(1), shape, dtype)
    f = jax.jit(jnp.sum)
    return x.size * x.dtype.itemsize / best_time(lambda: f(x), repeats)


def bench_cp(size, dtype, repeats):
    n, rank, sweeps = size
    x = lrjax.testing.random_cp(jax.random.key(2), (n, n, n), rank).to_dense().astype(dtype)
    run = lambda: lrjax.cp_als(
        x, rank, key=jax.random.key(3), init="random", maxiter=sweeps, tol=0.0
    )
    return best_time(run, repeats) / sweeps, x.size * x.dtype.itemsize


def bench_tucker(size, dtype, repeats):
    n, rank, sweeps = size
    x = jax.random.normal(jax.random.key(4), (n, n, n), dtype)
    run = lambda: lrjax.tucker_hooi(x, rank, maxiter=sweeps, tol=0.0)
    return best_time(run, repeats) / sweeps, x.size * x.dtype.itemsize


def bench_rsvd(size, dtype, repeats):
    m, n, k = size
    a = jax.random.normal(jax.random.key(5), (m, n), dtype)
    oversamples, power = 10, 4  # randomized_svd's defaults
    run = lambda: lrjax.randomized_svd(a, k, key=jax.random.key(6))
    flops = 2.0 * m * n * (k + oversamples) * (2 + 2 * power)
    return best_time(run, repeats), flops


def bench_tt_layer(size, dtype, repeats):
    from flax import nnx

    from lrjax.nn import TTLinear

    modes, rank, batch = size
    features = int(np.prod(modes))
    layer = TTLinear(features, features, rank, in_modes=modes, out_modes=modes,
                              param_dtype=dtype, rngs=nnx.Rngs(0))  # fmt: skip
    x = jax.random.normal(jax.random.key(7), (batch, features), dtype)
    f = nnx.jit(lambda m, x: m(x))
    return best_time(lambda: f(layer, x), repeats), float(layer.flops_per_example() * batch)


def bench_polyphonic(size, repeats):
    from experiments.benchmarks.polyphonic_step import step_times
    from experiments.polyphonic.configs import tt_gru

    batch, frames = size
    config = tt_gru.get_config()
    config.batch_size = batch
    train, _ = step_times(config, frames, repeats)
    return train


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="docs/benchmarks_roofline.md")
    args = parser.parse_args(argv)
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(args.dtype)
    s, r = SIZES[args.size], args.repeats
    device = jax.devices()[0]
    flops = gemm_rate(s["gemm"], dtype, r)
    n = s["cp"][0]
    bandwidth = read_bandwidth((n, n, n), dtype, r)

    rows = []
    t, nbytes = bench_cp(s["cp"], dtype, r)
    bound = 2 * nbytes / bandwidth
    rows.append((f"`cp_als` {n}^3, rank {s['cp'][1]}, per sweep", t, f"{bound / t:.0%} of 2 reads"))
    t, nbytes = bench_tucker(s["tucker"], dtype, r)
    n = s["tucker"][0]
    bound = 3 * nbytes / bandwidth
    rows.append(
        (
            f"`tucker_hooi` {n}^3, ranks {s['tucker'][1]}, per sweep",
            t,
            f"{bound / t:.0%} of 3 reads",
        )
    )
    t, work = bench_rsvd(s["rsvd"], dtype, r)
    m, nn, k = s["rsvd"]
    rows.append((f"`randomized_svd` {m} x {nn}, k = {k}", t, f"{work / t / flops:.0%} of GEMM"))
    t, work = bench_tt_layer(s["tt"], dtype, r)
    modes, rank, batch = s["tt"]
    rows.append(
        (f"`TTLinear` {'x'.join(map(str, modes))} rank {rank}, batch {batch}", t,
         f"{work / t / flops:.0%} of GEMM")
    )  # fmt: skip
    batch, frames = s["poly"]
    t = bench_polyphonic(s["poly"], r)
    rows.append(
        (f"polyphonic TT-GRU train step, batch {batch}, {frames} frames", t,
         f"{1e6 * t / frames:.0f} us per frame")
    )  # fmt: skip

    lines = [
        f"# Roofline: lrjax against the machine's limits ({args.size} sizes, {args.dtype})",
        "",
        f"Command: `python -m experiments.benchmarks.roofline --size {args.size} "
        f"--dtype {args.dtype} --repeats {r} --out {args.out}`",
        f"Device: {device.platform} ({device.device_kind}), {jax.device_count()} device(s); "
        f"host {platform.machine()}, {platform.system()}; jax {jax.__version__}.",
        "",
        f"Measured in this run: GEMM {flops / 1e9:.1f} GFLOP/s ({s['gemm']}^2 matmul); read "
        f"bandwidth {bandwidth / 1e9:.3g} GB/s (`jnp.sum` over {s['cp'][0]}^3). Times are the "
        f"best of {r} calls after a warm-up (compilation excluded).",
        "",
        "| routine | time | fraction of its bound |",
        "|---|---|---|",
        *(f"| {name} | {1e3 * t:.2f} ms | {frac} |" for name, t, frac in rows),
        "",
    ]
    write_report(args.out, lines)
    return lines


if __name__ == "__main__":
    main()
