"""Time one training step (and one evaluation step) of the polyphonic model, per cell.

Usage:
    python -m experiments.benchmarks.polyphonic_step [--frames 512] [--repeats 5]

The reference model of ``experiments/polyphonic`` (Linear 88 -> 256, the cell with hidden 512,
Linear 512 -> 88) at batch 8 and one padded length, the repository config of each cell, with
``experiments.polyphonic.train.train_step`` (Adam, clipping, the moving average) and
``eval_step``. Prints the median seconds of ``repeats`` calls after a warm-up; an epoch costs
about (frames in the training split / 8) of these per-frame figures. It writes nothing, so it
can time another checkout's ``lrjax/`` beside this one (A/B); ``experiments.benchmarks.recurrent``
puts the same table in ``docs/benchmarks_recurrent.md``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments.polyphonic import train as poly
from experiments.polyphonic.configs import cp_gru, gru, tt_gru, tucker_gru
from experiments.polyphonic.model import N_KEYS, MusicRNN

CONFIGS = [
    ("GRU", gru),
    ("CP-GRU r=110", cp_gru),
    ("Tucker-GRU 2,3,3,4", tucker_gru),
    ("TT-GRU 1,9,9,9,1", tt_gru),
]


def _median(fn, repeats: int) -> float:
    jax.block_until_ready(fn(0))
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(i + 1))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def step_times(config, frames: int, repeats: int) -> tuple[float, float]:
    """(train step, eval step) seconds at batch ``config.batch_size`` and ``frames`` frames."""
    model = MusicRNN(config, rngs=nnx.Rngs(0))
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=config.learning_rate)
    optimizer = nnx.Optimizer(
        model, optax.chain(optax.clip_by_global_norm(config.clip_norm), adam), wrt=nnx.Param
    )
    ema = [poly.pure_params(model)]
    rng = np.random.default_rng(0)
    shape = (config.batch_size, frames, N_KEYS)
    x = (rng.random(shape) < 0.05).astype(np.float32)
    mask = np.ones(shape[:2], np.float32)
    key, decay = jax.random.key(0), jnp.float32(config.ema_decay)

    def train(i):
        loss, ema[0], _ = poly.train_step(
            model, optimizer, ema[0], x, x, mask, jax.random.fold_in(key, i), decay
        )
        return loss

    return _median(train, repeats), _median(lambda i: poly.eval_step(model, x, x, mask), repeats)


def step_table(frames: int, repeats: int) -> list[str]:
    """The Markdown table of :func:`step_times` for every cell config in ``CONFIGS``."""
    lines = ["| cell | train step ms | per frame-step us | eval step ms |", "|---|---|---|---|"]
    for name, module in CONFIGS:
        train, ev = step_times(module.get_config(), frames, repeats)
        lines.append(
            f"| {name} | {1e3 * train:.1f} | {1e6 * train / frames:.0f} | {1e3 * ev:.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"batch 8, {args.frames} frames; median of {args.repeats} calls")
    print("\n".join(step_table(args.frames, args.repeats)))


if __name__ == "__main__":
    main()
