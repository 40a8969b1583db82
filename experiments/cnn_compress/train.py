"""Training, evaluation and latency of the experiment's networks.

``fit`` trains one job (a network from scratch or a compressed network's fine-tuning) with
AdamW on a cosine schedule, optionally with force regularization or as the student of a teacher
(LRDKT's three losses, ``lrjax.nn.knowledge_transfer_loss``). After every epoch it logs a row
to ``metrics.jsonl`` and saves an orbax checkpoint under ``checkpoints/<job>``; a job that finds
a checkpoint resumes from it (a finished job only restores its weights).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

from lrjax import nn as lrnn

_STATE = nnx.Any(nnx.Param, nnx.BatchStat)


def _manager(work: Path, job: str):
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=1, enable_async_checkpointing=False)
    return ocp.CheckpointManager((work / "checkpoints" / job).absolute(), options=options)


def _save(mgr, epoch: int, model, optimizer, meta: dict) -> None:
    import orbax.checkpoint as ocp

    state = {"model": nnx.state(model, _STATE), "opt": nnx.state(optimizer)}
    mgr.save(
        epoch,
        args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
        force=True,
    )


def _restore(mgr, model, optimizer) -> dict | None:
    import orbax.checkpoint as ocp

    step = mgr.latest_step()
    if step is None:
        return None
    target = {"model": nnx.state(model, _STATE), "opt": nnx.state(optimizer)}
    restored = mgr.restore(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()
        ),
    )
    nnx.update(model, restored["state"]["model"])
    nnx.update(optimizer, restored["state"]["opt"])
    return dict(restored["meta"])


def _augment(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Random horizontal flips and shifts of up to 2 pixels (edge-padded)."""
    flip = rng.random(len(x)) < 0.5
    x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    dy, dx = rng.integers(0, 5, size=2)
    return padded[:, dy : dy + x.shape[1], dx : dx + x.shape[2]]


def _ce(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


@nnx.jit
def _step(model, optimizer, x, y):
    def loss_fn(model):
        return _ce(model(x)[0], y)

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit(static_argnames=("temperature",))
def _kt_step(model, optimizer, teacher, x, y, weights, temperature):
    t_logits, t_blocks = teacher(x)

    def loss_fn(model):
        logits, blocks = model(x)
        out = lrnn.knowledge_transfer_loss(
            logits,
            y,
            t_logits,
            blocks,
            t_blocks,
            local_weight=weights[0],
            global_weight=weights[1],
            temperature=temperature,
        )
        return out.total

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def fit(
    job: str,
    model,
    data,
    *,
    epochs: int,
    lr: float,
    config,
    work: Path,
    force: float = 0.0,
    teacher=None,
) -> list[dict]:
    """Train ``model`` in place for ``epochs`` epochs (resuming from ``checkpoints/<job>``);
    return the job's per-epoch records."""
    xtr, ytr = data["train"]
    per_epoch = max(1, len(xtr) // config.batch_size)
    if config.steps_per_epoch:
        per_epoch = min(per_epoch, config.steps_per_epoch)
    schedule = optax.cosine_decay_schedule(lr, per_epoch * max(epochs, 1))
    tx = optax.adamw(schedule, weight_decay=config.weight_decay)
    if force > 0:
        tx = optax.chain(lrnn.force_regularization(force, config.force_kind), tx)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    mgr = _manager(work, job)
    meta = _restore(mgr, model, optimizer) or {"epoch": 0, "history": []}
    history = list(meta["history"])
    if meta["epoch"]:
        done = (
            "restored (trained)"
            if meta["epoch"] >= epochs
            else f"resumed after epoch {meta['epoch']} of {epochs}"
        )
        print(f"note: {job}: {done}")
    log = open(work / "metrics.jsonl", "a")
    bar = tqdm(range(meta["epoch"], epochs), desc=job, unit="epoch", leave=False)
    for epoch in bar:
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(xtr))
        model.train()
        t0, losses = time.perf_counter(), []
        for s in range(per_epoch):
            idx = order[s * config.batch_size : (s + 1) * config.batch_size]
            x = jnp.asarray(_augment(rng, xtr[idx]) if config.augment else xtr[idx])
            y = jnp.asarray(ytr[idx])
            if teacher is None:
                losses.append(_step(model, optimizer, x, y))
            else:
                weights = jnp.asarray([config.lrdkt.local_weight, config.lrdkt.global_weight])
                losses.append(
                    _kt_step(
                        model, optimizer, teacher, x, y, weights, float(config.lrdkt.temperature)
                    )
                )
        loss = float(jnp.mean(jnp.stack(losses)))
        model.eval()
        row = {
            "job": job,
            "epoch": epoch + 1,
            "loss": loss,
            "test_acc": accuracy(model, data),
            "seconds": time.perf_counter() - t0,
        }
        if not np.isfinite(loss):
            raise FloatingPointError(f"{job}: the training loss is {loss} at epoch {epoch + 1}")
        history.append(row)
        log.write(json.dumps(row) + "\n")
        log.flush()
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{row['test_acc']:.3f}")
        _save(mgr, epoch + 1, model, optimizer, {"epoch": epoch + 1, "history": history})
    log.close()
    mgr.close()
    model.eval()
    return history


@nnx.jit
def _update_statistics(model, x):
    model(x)


def recalibrate(model, data, batches: int, batch_size: int) -> None:
    """Re-estimate the batch-norm statistics of ``model`` in place from ``batches`` training
    batches (forward passes in train mode, no weight update): after a decomposition, the
    running statistics of the layers that follow were measured on the dense layer's outputs."""
    xtr = data["train"][0]
    model.train()
    for b in range(batches):
        start = (b * batch_size) % max(1, len(xtr) - batch_size + 1)
        _update_statistics(model, jnp.asarray(xtr[start : start + batch_size]))
    model.eval()


@nnx.jit
def _logits(model, x):
    return model(x)[0]


def accuracy(model, data, batch: int = 256) -> float:
    """Test accuracy of ``model`` (in eval mode)."""
    x, y = data["test"]
    model.eval()
    hits = 0
    for i in range(0, len(x), batch):
        hits += int(
            jnp.sum(
                jnp.argmax(_logits(model, jnp.asarray(x[i : i + batch])), -1)
                == jnp.asarray(y[i : i + batch])
            )
        )
    return hits / len(x)


def latency(model, shape, batch: int, repeats: int) -> float:
    """Best-of-``repeats`` seconds of one jitted forward pass (eval mode) on ``batch`` images."""
    model.eval()
    graph, state = nnx.split(model)
    fn = jax.jit(lambda state, x: nnx.merge(graph, state)(x)[0])
    x = jnp.ones((batch, *shape), jnp.float32)
    jax.block_until_ready(fn(state, x))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(state, x))
        best = min(best, time.perf_counter() - t0)
    return best
