"""GRU cells at the polyphonic experiment's training shape: ``cell.sequence`` against plain
autodiff of ``lax.scan`` over the cell.

Usage:
    python -m experiments.benchmarks.recurrent [--out docs/benchmarks_recurrent.md] [--repeats 5]
        [--note "conditions of the run"]

float32, batch 8, 512 steps, input 256, hidden 512 (the reference model's cell), jit, forward
and backward w.r.t. the parameters. The anchor is ``lax.scan(cell, h0, x)`` differentiated by
JAX, which is how ``nnx.RNN`` runs a cell; ``cell.sequence`` hoists the input map and the
factor products out of the loop and, for a dense recurrent kernel, keeps the kernel's gradient
out of the reverse loop. Every figure is the median of ``repeats`` calls after a warm-up; the
ratio is against the anchor timed in the same process, just before. A second table times the
whole polyphonic training and evaluation step per cell config
(:func:`experiments.benchmarks.polyphonic_step.step_table`). The report keeps any hand-written
notes below its keep marker (:func:`experiments.benchmarks._report.write_report`).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
from flax import nnx

from experiments.benchmarks.foundation import machine, write_report
from experiments.benchmarks.layers import fmt_ms, layer_times
from experiments.benchmarks.polyphonic_step import step_table
from lrjax import nn as lrnn


def _cells():
    rngs = nnx.Rngs(0)
    modes = dict(in_modes=(4, 4, 4, 4), hidden_modes=(8, 4, 4, 4))
    tt_mat = lrnn.TTGRUCell(256, 512, (1, 9, 9, 9, 1), **modes, rngs=rngs)
    tt_mat.recurrent_layer.materialize = True
    return [
        ("GRUCell (dense)", lrnn.GRUCell(256, 512, rngs=rngs)),
        ("CPGRUCell r=110", lrnn.CPGRUCell(256, 512, 110, **modes, rngs=rngs)),
        ("TuckerGRUCell 2,3,3,4", lrnn.TuckerGRUCell(256, 512, (2, 3, 3, 4), **modes, rngs=rngs)),
        ("TTGRUCell 1,9,9,9,1", lrnn.TTGRUCell(256, 512, (1, 9, 9, 9, 1), **modes, rngs=rngs)),
        ("TTGRUCell 1,9,9,9,1, recurrent layer materialized", tt_mat),
    ]


def _stepped(cell, x):
    h0 = cell.initialize_carry(x[:, 0].shape)
    return jnp.moveaxis(jax.lax.scan(cell, h0, jnp.moveaxis(x, 1, 0))[1], 0, 1)


def _sequence(cell, x):
    return cell.sequence(x)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks_recurrent.md")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=512)
    parser.add_argument("--note", default="", help="conditions of the run, printed in the report")
    args = parser.parse_args()
    x = jax.random.normal(jax.random.key(0), (8, args.steps, 256), jnp.float32)
    lines = [
        "# Benchmarks: GRU cells at the polyphonic training shape",
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `python -m experiments.benchmarks.recurrent` (float32, batch 8, {args.steps} "
        "steps, input 256, hidden 512, jit, forward+backward w.r.t. the parameters; median of "
        f"{args.repeats} calls after a warm-up; ratio = `sequence` time / `lax.scan` time in the "
        "same run, below 1 is faster).",
        *([f"Conditions: {args.note}"] if args.note else []),
        "",
        "| cell | params | lax.scan ms | sequence ms | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, cell in _cells():
        anchor = layer_times(cell, x, args.repeats, _stepped)[1]
        t = layer_times(cell, x, args.repeats, _sequence)[1]
        lines.append(
            f"| {name} | {cell.num_params:,} | {fmt_ms(anchor)} | {fmt_ms(t)} | {t / anchor:.2f} |"
        )
    lines += [
        "",
        "`lax.scan` of `__call__` recomputes the TT layers' merged halves at every step and",
        "applies the input map step by step; `sequence` hoists both. The last two rows compare a",
        "TT-GRU's factorized recurrent layer with the same layer materialized",
        "(`cell.recurrent_layer.materialize = True`) in `sequence`.",
        "",
        "## The whole training step",
        "",
        f"One `train_step` and one `eval_step` of the polyphonic model (batch 8, {args.steps} "
        "frames, each cell's repository config; `experiments.benchmarks.polyphonic_step`, "
        f"median of {args.repeats} calls after a warm-up). An epoch costs about (frames in the "
        f"training split / (8 x {args.steps})) train steps.",
        "",
        *step_table(args.steps, args.repeats),
    ]
    write_report(args.out, [*lines, ""])


if __name__ == "__main__":
    main()
