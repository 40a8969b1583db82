"""The algorithms of ``lrjax.distributed``: bytes moved per iteration read from the compiled
program against each docstring's formula, and wall time on 1, 2, 4 and 8 devices.

The byte counts come from one process with 8 devices. Each timing row runs in a fresh process
with that many devices (host CPU devices by default: ``--xla_force_host_platform_device_count``;
on GPUs the visible ones, ``--platform gpu``), median of ``--repeats`` calls after a warm-up,
and is reported as a ratio to the 1-device time of the same run. On a CPU the forced host
devices share the machine's cores, so the ratios show the cost of partitioning and of the
collectives, not a speedup.

Usage:
    python -m experiments.benchmarks.distributed [--out docs/benchmarks_distributed.md]
    python -m experiments.benchmarks.distributed --size small   # seconds, for tests
    python -m experiments.benchmarks.distributed --platform gpu \\
        --out docs/benchmarks_gpu_distributed.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SIZES = {
    # tensor shape, CP rank, Tucker ranks, tall matrix (m, n), its rank
    "small": {"tensor": (32, 8, 6), "rank": 3, "ranks": (3, 3, 2), "tall": (512, 8), "k": 3},
    "default": {"tensor": (128, 48, 40), "rank": 8, "ranks": (8, 8, 8), "tall": (32768, 64),
                "k": 8},
}  # fmt: skip


def _problems(size: dict, devices: int):
    """``{name: (fn, sharded input, formula bytes per iteration or None)}``."""
    import jax
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import lrjax
    import lrjax.distributed as ld

    key = jax.random.key(0)
    mesh = jax.make_mesh(
        (devices,), ("x",), axis_types=(AxisType.Explicit,), devices=jax.devices()[:devices]
    )
    rows = P("x")
    put = lambda a, spec=rows: jax.device_put(a, NamedSharding(mesh, spec))
    x = lrjax.testing.random_cp(key, size["tensor"], size["rank"]).to_dense()
    m, n = size["tall"]
    k1, k2 = jax.random.split(key)
    a = jax.random.normal(k1, (m, size["k"])) @ jax.random.normal(k2, (size["k"], n))
    xs, as_ = put(x), put(a)
    b = x.dtype.itemsize
    rank, ranks, k = size["rank"], size["ranks"], size["k"]
    l_ = min(k + 10, n)
    y = put(a[:256].T, P(None, "x"))  # DGD+LOCAL: 256 columns over the agents
    return {
        "cp_als (10 sweeps)": (lambda t: ld.cp_als(t, rank, maxiter=10, tol=1e-300), xs,
                               ld.sweep_bytes("cp_als", xs, rank)),
        "tucker_hooi (10 sweeps)": (lambda t: ld.tucker_hooi(t, ranks, maxiter=10, tol=1e-300), xs,
                                    ld.sweep_bytes("tucker_hooi", xs, ranks)),
        "tsqr": (ld.tsqr, as_, None),
        "randomized_svd (4 power its)": (lambda t: ld.randomized_svd(t, k, key=key), as_,
                                         b * (n * l_ + 2 * l_ * l_)),
        "frequent_directions": (lambda t: ld.frequent_directions(t, 2 * k), as_, None),
        "robust_pca (20 its)": (lambda t: ld.robust_pca(t, maxiter=20, tol=0.0), as_,
                                b * devices * n * n),
        "dgd_local (ring, 100 its)": (
            lambda t: ld.dgd_local(t, k, key=key, step=1e-3, maxiter=100, record_every=100), y,
            2 * b * y.shape[0] * k) if devices >= 3 else None,
        "lrjax.cp_als, compiler-partitioned (10 sweeps)": (
            lambda t: lrjax.cp_als(t, rank, maxiter=10, tol=0.0), xs, None),
    }  # fmt: skip


def _once_bytes(name: str, size: dict, devices: int, itemsize: int) -> int | None:
    n = size["tall"][1]
    if name == "tsqr":
        return itemsize * devices * n * n
    if name == "frequent_directions":
        return itemsize * devices * 2 * size["k"] * n
    return None


def bytes_table(size: dict) -> list[dict]:
    import lrjax.distributed as ld

    rows = []
    for name, item in _problems(size, 8).items():
        if item is None or "compiler" in name:
            continue
        fn, data, formula = item
        s = ld.communication(fn, data)
        once = _once_bytes(name, size, 8, data.dtype.itemsize)
        measured = s["per_iteration"] if formula is not None else s["once"]
        want = formula if formula is not None else once
        rows.append({"name": name, "what": "per iteration" if formula is not None else "once",
                     "measured": measured, "formula": want, "largest": s["largest"],
                     "input": data.nbytes})  # fmt: skip
    return rows


def _time(fn, data, repeats: int) -> float:
    import jax

    jitted = jax.jit(fn)
    jax.block_until_ready(jitted(data))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(jitted(data))
        times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])


def child(devices: int, size: dict, repeats: int) -> dict:
    import jax

    if jax.device_count() < devices:
        raise SystemExit(f"{devices} devices asked for, {jax.device_count()} available")
    return {
        name: _time(item[0], item[1], repeats)
        for name, item in _problems(size, devices).items()
        if item is not None
    }


def _spawn(devices: int, args) -> dict:
    env = dict(os.environ)
    if args.platform == "cpu":
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        env["JAX_PLATFORMS"] = "cpu"
    command = [sys.executable, "-m", "experiments.benchmarks.distributed", "--child",
               str(devices), "--size", args.size, "--repeats", str(args.repeats)]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{devices} devices: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mib(b: int) -> str:
    return f"{b:,}" if b < 1 << 20 else f"{b / (1 << 20):.1f} MiB"


def report(size_name: str, rows: list[dict], times: dict[int, dict], machine: str) -> str:
    size = SIZES[size_name]
    m, n = size["tall"]
    lines = [
        "# lrjax.distributed: communication and scaling",
        "",
        f"Machine: {machine}. Sizes `{size_name}`: tensor {size['tensor']} (CP rank "
        f"{size['rank']}, Tucker ranks {size['ranks']}), tall matrix {m} x {n} (rank "
        f"{size['k']}), float64, the input split along its first axis.",
        "",
        "## Bytes per iteration (8 devices): compiled program against the formula",
        "",
        "What one device receives per collective, summed (`lrjax.distributed.communication`); "
        "`largest` is the largest single collective, to compare with the input's size.",
        "",
        "| algorithm | counted | measured bytes | formula: measured − formula | largest "
        "collective | input |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        extra = r["measured"] - r["formula"]
        small = 0 < extra <= max(128, r["formula"] // 100)  # a loop's stopping-test scalars
        ok = "equal" if extra == 0 else f"{extra:+,} (scalars)" if small else "differ"
        lines.append(
            f"| {r['name']} | {r['what']} | {r['measured']:,} | {r['formula']:,}: {ok} | "
            f"{_mib(r['largest'])} | {_mib(r['input'])} |"
        )
    counts = sorted(times)
    lines += [
        "",
        "## Wall time against 1 device (ratio < 1: faster)",
        "",
        "Median seconds of one jitted call; each device count in its own process.",
        "",
        "| algorithm | 1 device (s) | " + " | ".join(f"{d} devices" for d in counts[1:]) + " |",
        "|---|---|" + "---|" * (len(counts) - 1),
    ]
    base = times[counts[0]]
    for name, t1 in base.items():
        cells = [f"{times[d][name] / t1:.2f}x" if name in times[d] else "–" for d in counts[1:]]
        lines.append(f"| {name} | {t1:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--devices", default="1,2,4,8")
    parser.add_argument("--platform", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    if args.child:
        import jax

        jax.config.update("jax_enable_x64", True)
        print(json.dumps(child(args.child, size, args.repeats)))
        return ""
    if args.platform == "cpu" and "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax

    jax.config.update("jax_enable_x64", True)
    import platform

    rows = bytes_table(size)
    times = {d: _spawn(d, args) for d in (int(v) for v in args.devices.split(","))}
    machine = (
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"jax {jax.__version__}, {args.platform} devices"
    )
    if args.platform == "gpu":
        machine += f" ({jax.devices()[0].device_kind})"
    text = report(args.size, rows, times, machine)
    command = "python -m experiments.benchmarks.distributed " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--child")
    )
    text += f"\nCommand: `{command.strip()}`\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return text


if __name__ == "__main__":
    main()
