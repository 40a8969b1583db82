"""The optimiser and the jitted training and evaluation steps of the polyphonic runner."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments.polyphonic import parallel
from experiments.polyphonic.model import MusicRNN
from lrjax.metrics import FrameStats, frame_stats


def batch_loss(model: MusicRNN, x, y, mask, dropout_key):
    """Mean over the batch's valid frames of the key-summed Bernoulli NLL."""
    stats = frame_stats(model(x, dropout_key=dropout_key), y, mask)
    return stats.nll_sum / jnp.maximum(stats.n_frames, 1.0)


def is_matrix(params):
    """Weight-decay mask: the weight matrices and tensor factors (two or more axes), not the
    biases."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


@functools.cache
def optimizer_transform(
    clip_norm: float, weight_decay: float = 0.0
) -> optax.GradientTransformation:
    """Adam after global-norm clipping, its learning rate held in the optimiser state: ``run``
    writes the config's rate there as soon as the optimiser is built (a checkpoint restores
    it, plateaus decay it), so the 1.0 given here is never used for a step.

    ``weight_decay > 0`` makes it AdamW (decoupled decay: each step also subtracts
    ``learning_rate * weight_decay * p`` from every weight matrix and tensor factor ``p``;
    biases are not decayed). At 0 the transform, and so the checkpoint layout, is plain Adam's.

    One object per clipping norm and weight decay: the optimiser's graph definition holds the
    transform and compares it by identity, so a fresh one per run made every later run in the
    same process (a sweep, a notebook, the tests) compile ``train_step`` again (8-12 s per
    padded length for the tiny config), and a learning rate baked into it would do the same for
    a sweep over rates.
    """
    if weight_decay < 0 or not np.isfinite(weight_decay):
        raise ValueError(f"config.weight_decay must be finite and >= 0, got {weight_decay!r}")
    if weight_decay == 0:
        adam = optax.inject_hyperparams(optax.adam)(learning_rate=1.0)
    else:
        adam = optax.inject_hyperparams(optax.adamw, static_args="mask")(
            learning_rate=1.0, weight_decay=weight_decay, mask=is_matrix
        )
    return optax.chain(optax.clip_by_global_norm(clip_norm), adam)


@nnx.jit
def train_step(model, optimizer, ema, x, y, mask, dropout_key, ema_decay):
    """One Adam step with global-norm clipping; returns the batch loss, the updated
    exponential moving average of the parameters (a plain dict of arrays) and whether the step
    was taken.

    A batch whose loss or gradient is not finite is skipped: the parameters, the optimiser
    state (step count and moments included) and the average stay as they were, and the
    returned flag is False so that the caller can count it.
    """
    loss, grads = nnx.value_and_grad(batch_loss)(model, x, y, mask, dropout_key)
    finite = jax.tree.reduce(lambda ok, g: ok & jnp.isfinite(g).all(), grads, jnp.isfinite(loss))
    before = jax.tree.map(lambda a: a, nnx.state((model, optimizer)))  # values, not references
    optimizer.update(model, grads)
    after = nnx.state((model, optimizer))
    keep = lambda old, new: jax.tree.map(lambda a, b: jnp.where(finite, b, a), old, new)
    nnx.update((model, optimizer), keep(before, after))
    params = pure_params(model)
    ema = keep(ema, jax.tree.map(lambda e, p: ema_decay * e + (1.0 - ema_decay) * p, ema, params))
    return loss, ema, finite


def pure_params(model) -> dict:
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def with_params(model, params: dict):
    """A copy of ``model`` carrying ``params`` (used to evaluate the moving average)."""
    graphdef, state, rest = nnx.split(model, nnx.Param, ...)
    nnx.replace_by_pure_dict(state, params)
    return nnx.merge(graphdef, state, rest)


@nnx.jit
def eval_step(model, x, y, mask) -> FrameStats:
    """Summed NLL and note counts of one padded batch (no dropout)."""
    return frame_stats(model(x), y, mask)


def evaluate(model, batches, mesh=None) -> dict[str, float]:
    """Summed statistics of the padded ``batches`` (split over ``mesh``'s data axis when
    given)."""
    total = None
    for batch in batches:
        s = eval_step(model, *parallel.shard_batch(batch, mesh))
        total = s if total is None else jax.tree.map(jnp.add, total, s)
    assert total is not None
    return {
        "nll": float(total.nll),
        "acc": 100.0 * float(total.accuracy),
        "frames": int(total.n_frames),
    }
