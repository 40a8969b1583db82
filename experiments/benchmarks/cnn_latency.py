"""Inference latency of the cnn_compress VGG and its low-rank versions (Tai at several ranks,
CP, Tucker-2, bicluster), with and without XLA:CPU's YNNPACK library fusion (the jaxlib 0.10
default).

Usage:
    python -m experiments.benchmarks.cnn_latency [--out FILE] [--repeats 30]

Each XLA setting runs in a fresh process (``XLA_FLAGS`` is read when the backend starts). The
network (widths 32, 64, 128; random weights, eval mode; timing does not depend on the values)
is jitted as ``(graphdef, state) -> logits``; figures are the best of ``repeats`` calls after a
warm-up. Ratios are against the dense network timed in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from experiments.benchmarks._report import write_report

RANKS = (16, 24, 32, 40, 48)
SETTINGS = {
    "YNNPACK fusion (default)": "",
    "Eigen (fusion off)": "--xla_cpu_experimental_ynn_fusion_type=",
}


def _measure(repeats: int) -> dict:
    from flax import nnx

    from experiments.cnn_compress.configs import default
    from experiments.cnn_compress.main import DECOMPOSED, policy
    from experiments.cnn_compress.model import VGG, model_flops
    from experiments.cnn_compress.train import latency
    from lrjax import nn as lrnn

    base = VGG((32, 64, 128), 38, rngs=nnx.Rngs(0))
    config = default.get_config()
    nets = {"dense": base}
    for rank in RANKS:
        nets[f"Tai rank {rank}"] = lrnn.compress(
            base,
            lambda path, layer, rank=rank: (
                lrnn.SeparableLowRankConv.from_conv(layer, rank) if path in DECOMPOSED else None
            ),
        )[0]
    for label, kind in (("CP", "cp"), ("Tucker-2", "tucker"), ("bicluster 2 x 2", (2, 2, 0.33))):
        nets[f"{label}, 0.33 of the FLOPs"] = lrnn.compress(base, policy(kind, 0.33, config))[0]
    out = {}
    for name, model in nets.items():
        out[name] = {
            "mflops": model_flops(model) / 1e6,
            "b1": latency(model, (32, 32, 1), 1, repeats),
            "b64": latency(model, (32, 32, 1), 64, repeats),
        }
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/benchmarks_cnn_latency.md")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.repeats)))
        return
    results = {}
    for name, flag in SETTINGS.items():
        env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()}
        cmd = [sys.executable, "-m", "experiments.benchmarks.cnn_latency", "--child",
               "--repeats", str(args.repeats)]  # fmt: skip
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    import jax

    lines = [
        "# Latency of the low-rank VGG on XLA:CPU",
        "",
        "```bash",
        "python -m experiments.benchmarks.cnn_latency",
        "```",
        "",
        f"jax {jax.__version__}, {os.cpu_count()} CPU cores; jitted inference of the "
        "cnn_compress baseline (widths 32, 64, 128, 32 x 32 x 1 input) and of its conv1-conv5 "
        "replaced by `SeparableLowRankConv` of rank K (Tai) or by the experiment's CP, Tucker-2 "
        "and bicluster decompositions at a third of the FLOPs (random weights); best of "
        f"{args.repeats} calls. Speedup: against the dense network in the same process.",
        "",
        "| XLA:CPU | network | MFLOPs | batch 1 (ms) | speedup | batch 64 (ms) | speedup |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        base = res["dense"]
        for label, r in res.items():
            lines.append(
                f"| {name} | {label} | {r['mflops']:.1f} | {1e3 * r['b1']:.2f} | "
                f"{base['b1'] / r['b1']:.2f}x | {1e3 * r['b64']:.2f} | "
                f"{base['b64'] / r['b64']:.2f}x |"
            )
    write_report(args.out, [*lines, ""])


if __name__ == "__main__":
    main()
