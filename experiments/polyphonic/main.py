"""Train a (tensorized) GRU on a polyphonic-music dataset; resumable, jitted end to end.

The run loop; the pieces live beside it as in Flax's examples: ``input_pipeline.py`` (splits,
batches, padding), ``train.py`` (optimiser, train and eval steps), ``checkpoints.py``,
``records.py`` (result, metrics, summary, plot), ``published.py`` (the paper's table),
``configuration.py`` (config checks) and ``parallel.py`` (devices and processes).

Protocol (Boulanger-Lewandowski et al. 2012; Tjandra et al. 2018): predict frame t + 1 from
frames <= t with 88 independent Bernoulli outputs. NLL is nats per predicted frame, summed over
keys, every frame of every sequence weighted equally; frame accuracy is TP / (TP + FP + FN) over
the whole split at threshold 0.5. The reported epoch is the one with the best validation NLL.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from experiments._workdir import WorkdirLock
from experiments.polyphonic import checkpoints, parallel
from experiments.polyphonic.configuration import check_config, train_chunk, validate, weight_decay
from experiments.polyphonic.input_pipeline import (
    eval_batches,
    load_splits,
    pad_batch,
    train_batches,
    train_chunks,
)
from experiments.polyphonic.model import MusicRNN
from experiments.polyphonic.records import (
    best_record,
    cell_params,
    finite_nll,
    plot_curves,
    result_record,
    write_metrics,
    write_summary,
)
from experiments.polyphonic.train import (
    evaluate,
    optimizer_transform,
    pure_params,
    train_step,
    with_params,
)


class Interrupted(RuntimeError):
    """Raised when ``config.stop_after_steps`` is reached (simulates a killed run)."""


class Diverged(FloatingPointError):
    """Raised when training cannot go on: an epoch's evaluation is not finite, or every step
    of an epoch had a non-finite loss or gradient. ``metrics.jsonl`` keeps the epochs before."""


# ---------------------------------------------------------------------------------------------
# the run


def run(config, workdir: str | Path) -> dict:
    """Train, select by validation NLL, write metrics.jsonl, summary.md and plots.

    Resumes from the newest checkpoint in ``workdir`` that restores (a damaged one is set
    aside); an interrupted run resumed this way ends with the same result as an uninterrupted
    one (data order and dropout keys are functions of the seed and the global step). The
    config is checked first (every problem reported at once), and the run holds an exclusive
    lock on ``workdir``.

    Data parallel (``config.mesh``): each batch is split over the devices of the ``"data"``
    mesh axis, everything else replicated; the metrics equal the single-device run's to
    float32 rounding, and a checkpoint resumes on any device count. Several processes
    (``config.distributed``, or ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``,
    ``JAX_PROCESS_ID``) join before the workdir is touched; process 0 holds the lock and
    writes the records, and the others stop with it when it refuses to run.

    Raises:
        ValueError: for a bad config, or a workdir holding a run with another config.
        experiments._workdir.WorkdirBusy: when another live run holds ``workdir``.
        experiments._workdir.DistributedStartError: when the processes do not come together.
    """
    problems = validate(config)
    if problems:
        raise ValueError("bad config: " + "; ".join(problems))
    parallel.initialize(config)  # before the workdir: a failed start leaves it as it was
    mesh = parallel.data_mesh(config)
    workdir = Path(workdir)
    if not parallel.is_writer():
        if not parallel.agree(True):
            raise RuntimeError("process 0 did not start the run; its output says why")
        return _run(config, workdir, mesh)
    with WorkdirLock(workdir):
        try:
            _prepare(config, workdir)
        except BaseException:
            parallel.agree(False)
            raise
        parallel.agree(True)
        return _run(config, workdir, mesh)


def _prepare(config, workdir: Path) -> None:
    check_config(workdir, config)
    if (workdir / "diverged.json").is_file():  # resuming would only replay the divergence
        stored = json.loads((workdir / "diverged.json").read_text())
        raise Diverged(f"{stored['message']} (this workdir holds a diverged run, recorded in "
                       f"{str(workdir / 'diverged.json')!r}; it does not resume)")  # fmt: skip


def _run(config, workdir: Path, mesh=None) -> dict:
    writer = parallel.is_writer()
    data = load_splits(config)
    model = MusicRNN(config, rngs=nnx.Rngs(config.seed))
    transform = optimizer_transform(float(config.clip_norm), weight_decay(config))
    optimizer = nnx.Optimizer(model, transform, wrt=nnx.Param)
    optimizer.opt_state[1].hyperparams["learning_rate"][...] = config.learning_rate
    if mesh is not None:  # parameters and optimiser state replicated on every device
        nnx.update((model, optimizer), parallel.replicate(nnx.state((model, optimizer)), mesh))
    manager = checkpoints.manager(workdir)
    meta = {"step": 0, "history": []}
    ema = parallel.replicate(pure_params(model), mesh)
    # restored onto the current layout, whatever the device count that wrote it
    restored = checkpoints.restore(manager, model, optimizer, ema, workdir)
    if restored is not None:
        ema, meta = restored
        if writer:
            print(f"resumed from step {meta['step']} ({len(meta['history'])} epochs done)")
    history: list[dict] = meta["history"]
    step = int(meta["step"])
    chunk = train_chunk(config)
    valid = eval_batches(data["valid"], config.eval_batch_size, config.min_bucket)
    test = eval_batches(data["test"], config.eval_batch_size, config.min_bucket)
    key = jax.random.key(config.seed)
    data_key, drop_key = jax.random.split(key)
    steps_this_run = 0
    decay = parallel.replicate(np.float32(config.ema_decay), mesh)
    stop = _should_stop(history, config)
    if not stop and len(history) < config.max_epochs and writer:
        # a finished run resumed to train longer (a larger max_epochs or patience) is
        # unfinished again until it ends: its old result.json would be stale
        (workdir / "result.json").unlink(missing_ok=True)
    while not stop and len(history) < config.max_epochs:
        epoch = len(history)
        epoch_key = jax.random.fold_in(data_key, epoch)
        train = data["train"]
        if chunk > 0:  # a key of its own: without chunks the batches stay as they were
            train = train_chunks(train, chunk, jax.random.fold_in(epoch_key, 1))
        lengths = np.array([s.shape[0] for s in train])
        batches = train_batches(len(train), lengths, config.batch_size, epoch_key)
        steps_per_epoch = len(batches)
        first = step - (history[-1]["step"] if history else 0)  # steps done in this epoch
        losses = list(meta.get("epoch_losses", [])) if first > 0 else []
        skipped = int(meta.get("epoch_skipped", 0)) if first > 0 else 0
        frames = int(meta.get("epoch_frames", 0)) if first > 0 else 0  # predictions trained on
        t0 = time.perf_counter()
        bar = _progress(range(first, steps_per_epoch), config, f"epoch {epoch + 1}")
        for b in bar:
            batch = pad_batch([train[i] for i in batches[b]], config.min_bucket)
            mask = batch[2]
            x, y, sharded_mask = parallel.shard_batch(batch, mesh)
            loss, ema, taken = train_step(
                model, optimizer, ema, x, y, sharded_mask, _step_key(drop_key, step, mesh), decay
            )
            if bool(taken):
                losses.append(float(loss))
            else:
                skipped += 1
            frames += int(mask.sum())
            step += 1
            steps_this_run += 1
            if step % config.checkpoint_every_steps == 0 and b + 1 < steps_per_epoch:
                meta = {"step": step, "history": history, "epoch_losses": losses,
                        "epoch_skipped": skipped, "epoch_frames": frames}  # fmt: skip
                checkpoints.save(manager, step, model, optimizer, ema, meta)
            if 0 < config.stop_after_steps <= steps_this_run:
                raise Interrupted(f"stopped after {steps_this_run} steps (config.stop_after_steps)")
        scored = with_params(model, ema) if config.ema_decay > 0 else model
        record = {"epoch": epoch + 1, "step": step,
                  "train_loss": float(np.mean(losses)) if losses else float("nan"),
                  "valid": evaluate(scored, valid, mesh), "test": evaluate(scored, test, mesh),
                  "seconds": time.perf_counter() - t0, "skipped_steps": skipped,
                  "train_frames": frames}  # fmt: skip
        record["lr"] = _learning_rate(optimizer)
        if not losses or not finite_nll(record):
            manager.close()
            message = _diverged_message(record, history, steps_per_epoch, workdir)
            if writer:
                (workdir / "diverged.json").write_text(
                    json.dumps({"epoch": record["epoch"], "message": message, "record": record})
                    + "\n"
                )
            raise Diverged(message)
        history.append(record)
        _maybe_decay(optimizer, history, config)
        checkpoints.save(manager, step, model, optimizer, ema, {"step": step, "history": history})
        if not writer:
            stop = _should_stop(history, config)
            continue
        write_metrics(workdir, history)
        note = f"  {skipped} non-finite steps skipped" if skipped else ""
        print(
            f"epoch {epoch + 1}: train {record['train_loss']:.3f}  valid NLL "
            f"{record['valid']['nll']:.3f}  test NLL {record['test']['nll']:.3f}  "
            f"ACC {record['test']['acc']:.2f}%  ({record['seconds']:.1f} s){note}",
            flush=True,
        )
        stop = _should_stop(history, config)
    manager.close()
    result = result_record(config, history, cell_params(model))
    if writer:
        write_summary(workdir, config, result, history)
        plot_curves(workdir, history, result)
    return result


def _step_key(drop_key, step: int, mesh):
    """The dropout key of a global step (a function of the seed and the step only), replicated
    on ``mesh``."""
    key = jax.random.fold_in(drop_key, step)
    if mesh is None:
        return key
    return jax.random.wrap_key_data(parallel.replicate(jax.random.key_data(key), mesh))


def _learning_rate(optimizer) -> float:
    return float(optimizer.opt_state[1].hyperparams["learning_rate"][...])


def _maybe_decay(optimizer, history: list[dict], config) -> None:
    """Multiply the learning rate by ``lr_decay`` when validation NLL has not improved for
    ``lr_patience`` epochs (and the rate has not changed for as long)."""
    if config.lr_decay >= 1.0:
        return
    since_best = len(history) - best_record(history)["epoch"]
    rates = [r["lr"] for r in history]
    since_change = next((i for i, lr in enumerate(reversed(rates)) if lr != rates[-1]), len(rates))
    if since_best >= config.lr_patience and since_change >= config.lr_patience:
        lr = optimizer.opt_state[1].hyperparams["learning_rate"]
        lr[...] = lr[...] * config.lr_decay


def _diverged_message(record: dict, history: list[dict], steps_per_epoch: int, workdir) -> str:
    best = best_record(history) if history else None
    where = (
        f"the best epoch so far is {best['epoch']} (validation NLL {best['valid']['nll']:.3f})"
        if best is not None
        else "no epoch finished before it"
    )
    return (
        f"training diverged in epoch {record['epoch']}: validation NLL "
        f"{record['valid']['nll']}, test NLL {record['test']['nll']}, "
        f"{record['skipped_steps']} of {steps_per_epoch} steps skipped for a non-finite loss or "
        f"gradient; {where}, kept in {str(Path(workdir) / 'metrics.jsonl')!r}. Rerun in a new "
        "workdir with a lower --config.learning_rate"
    )


def _should_stop(history: list[dict], config) -> bool:
    if not history:
        return False
    return len(history) - best_record(history)["epoch"] >= config.patience


def _progress(it, config, desc):
    if not config.progress:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, leave=False, file=sys.stderr)
