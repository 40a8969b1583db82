"""Train a (tensorized) GRU on a polyphonic-music dataset; resumable, jitted end to end.

Protocol (Boulanger-Lewandowski et al. 2012; Tjandra et al. 2018): predict frame t + 1 from
frames <= t with 88 independent Bernoulli outputs. NLL is nats per predicted frame, summed over
keys, every frame of every sequence weighted equally; frame accuracy is TP / (TP + FP + FN) over
the whole split at threshold 0.5. The reported epoch is the one with the best validation NLL.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments._workdir import WorkdirLock
from experiments.polyphonic import checkpoints, parallel
from experiments.polyphonic.configuration import (
    check_config,
    read_config,
    train_chunk,
    validate,
    weight_decay,
)
from experiments.polyphonic.model import N_KEYS, MusicRNN
from lrjax.data import load_polyphonic
from lrjax.metrics import FrameStats, frame_stats

# Table 1 of Tjandra, Sakti & Nakamura (IJCNN 2018): test NLL, test ACC %.
PUBLISHED = {
    "gru": ("GRU", 1_181_184, {"nottingham": (3.369, 71.1), "jsb_chorales": (8.32, 30.24),
                               "piano_midi": (7.53, 27.19), "musedata": (7.12, 36.30)}),
    "cp": ("CP-GRU r=110", 11_656, {"nottingham": (3.34, 70.42), "jsb_chorales": (8.41, 29.45),
                                    "piano_midi": (7.60, 27.36), "musedata": (7.18, 36.89)}),
    "tucker": ("Tucker-GRU 2,3,3,4", 12_184, {"nottingham": (3.41, 70.23),
                                             "jsb_chorales": (8.43, 29.03),
                                             "piano_midi": (7.69, 25.26),
                                             "musedata": (7.43, 33.63)}),
    "tt": ("TT-GRU 1,9,9,9,1", 8_448, {"nottingham": (3.35, 70.82), "jsb_chorales": (8.36, 29.32),
                                       "piano_midi": (7.58, 27.62), "musedata": (7.20, 37.81)}),
}  # fmt: skip


class Interrupted(RuntimeError):
    """Raised when ``config.stop_after_steps`` is reached (simulates a killed run)."""


class Diverged(FloatingPointError):
    """Raised when training cannot go on: an epoch's evaluation is not finite, or every step
    of an epoch had a non-finite loss or gradient. ``metrics.jsonl`` keeps the epochs before."""


# ---------------------------------------------------------------------------------------------
# data


def load_splits(config) -> dict[str, list[np.ndarray]]:
    """The dataset's splits, optionally cut down (``limit_sequences``, ``max_length``)."""
    data = load_polyphonic(config.dataset)._asdict()
    if config.limit_sequences > 0:
        data = {k: v[: config.limit_sequences] for k, v in data.items()}
    if config.max_length > 0:
        data = {k: [s[: config.max_length] for s in v] for k, v in data.items()}
    # a sequence of one frame has nothing to predict
    return {k: [s for s in v if s.shape[0] >= 2] for k, v in data.items()}


def bucket_length(n: int, min_bucket: int) -> int:
    """Smallest ``min_bucket * 2**(k/4)`` (rounded up to a multiple of 8) that is >= ``n``.

    Quarter-octave buckets waste at most ~19 % of the compute on padding while keeping the
    number of compiled shapes logarithmic in the longest sequence.
    """
    k = max(0, math.ceil(4 * math.log2(max(n, 1) / min_bucket) - 1e-9))
    return max(min_bucket, 8 * math.ceil(min_bucket * 2 ** (k / 4) / 8))


def train_batches(n_seqs: int, lengths: np.ndarray, batch_size: int, key) -> list[np.ndarray]:
    """Shuffled batches of similar-length sequences (less padding, same data each epoch).

    The sequences are shuffled, split into pools of ``8 * batch_size``, each pool is sorted by
    length and cut into batches, and the batch order is shuffled.
    """
    k1, k2 = jax.random.split(key)
    order = np.asarray(jax.random.permutation(k1, n_seqs))
    pool = 8 * batch_size
    batches = []
    for start in range(0, n_seqs, pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    perm = np.asarray(jax.random.permutation(k2, len(batches)))
    return [batches[i] for i in perm]


def train_chunks(seqs: list[np.ndarray], chunk: int, key) -> list[np.ndarray]:
    """Each sequence cut into pieces of at most ``chunk`` predicted frames, at an offset drawn
    anew for every sequence and epoch (truncated back-propagation through time).

    A sequence of ``T`` frames has ``T - 1`` frames to predict; the cut points are
    ``j * chunk - offset`` for ``offset`` uniform in ``[0, chunk)``, so every prediction is
    made exactly once per epoch and the pieces overlap by the one frame that each predicts
    from. Every piece starts from the zero state, like a whole sequence.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of frames, got {chunk!r}")
    offsets = np.asarray(jax.random.randint(key, (len(seqs),), 0, chunk))
    pieces = []
    for s, off in zip(seqs, offsets, strict=True):
        n = s.shape[0] - 1
        cuts = np.clip(np.arange(0, n + off + chunk, chunk) - off, 0, n)
        pieces += [s[a : b + 1] for a, b in itertools.pairwise(cuts) if b > a]
    return pieces


def pad_batch(seqs: list[np.ndarray], min_bucket: int):
    """Inputs (frames 0..T-2), targets (frames 1..T-1) and the frame mask, right-padded."""
    length = bucket_length(max(s.shape[0] - 1 for s in seqs), min_bucket)
    x = np.zeros((len(seqs), length, N_KEYS), np.float32)
    y = np.zeros_like(x)
    mask = np.zeros((len(seqs), length), np.float32)
    for i, s in enumerate(seqs):
        t = s.shape[0] - 1
        x[i, :t], y[i, :t], mask[i, :t] = s[:-1], s[1:], 1.0
    return x, y, mask


def eval_batches(seqs: list[np.ndarray], batch_size: int, min_bucket: int):
    """Deterministic padded batches, sequences sorted by length (little padding)."""
    order = sorted(range(len(seqs)), key=lambda i: seqs[i].shape[0])
    return [
        pad_batch([seqs[i] for i in order[k : k + batch_size]], min_bucket)
        for k in range(0, len(order), batch_size)
    ]


# ---------------------------------------------------------------------------------------------
# steps


def batch_loss(model: MusicRNN, x, y, mask, dropout_key):
    """Mean over the batch's valid frames of the key-summed Bernoulli NLL."""
    stats = frame_stats(model(x, dropout_key=dropout_key), y, mask)
    return stats.nll_sum / jnp.maximum(stats.n_frames, 1.0)


def _is_matrix(params):
    """Weight-decay mask: the weight matrices and tensor factors (two or more axes), not the
    biases."""
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


@functools.cache
def _transform(clip_norm: float, weight_decay: float = 0.0) -> optax.GradientTransformation:
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
            learning_rate=1.0, weight_decay=weight_decay, mask=_is_matrix
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
    params = _pure_params(model)
    ema = keep(ema, jax.tree.map(lambda e, p: ema_decay * e + (1.0 - ema_decay) * p, ema, params))
    return loss, ema, finite


def _pure_params(model) -> dict:
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))


def _with_params(model, params: dict):
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


# ---------------------------------------------------------------------------------------------
# results (the config's checks and record: configuration.py; checkpoints: checkpoints.py)


def partial_result(workdir: str | Path) -> dict | None:
    """``result.json``'s fields for a run that has not finished (interrupted, still running or
    stopped by divergence): its best-validation epoch so far, with ``finished: False`` and, for
    a diverged run, ``diverged_epoch``; None without any completed epoch or ``config.json``."""
    workdir = Path(workdir)
    metrics, cfg = workdir / "metrics.jsonl", workdir / "config.json"
    if not (metrics.is_file() and cfg.is_file()):
        return None
    history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    if not history:
        return None
    config = read_config(workdir)
    model = MusicRNN(config, rngs=nnx.Rngs(0))
    diverged = workdir / "diverged.json"
    epoch = json.loads(diverged.read_text())["epoch"] if diverged.is_file() else None
    return {**_result(config, history, cell_params(model)), "finished": False,
            "diverged_epoch": epoch}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the run


def cell_params(model: MusicRNN) -> int:
    return model.cell.num_params


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
    transform = _transform(float(config.clip_norm), weight_decay(config))
    optimizer = nnx.Optimizer(model, transform, wrt=nnx.Param)
    optimizer.opt_state[1].hyperparams["learning_rate"][...] = config.learning_rate
    if mesh is not None:  # parameters and optimiser state replicated on every device
        nnx.update((model, optimizer), parallel.replicate(nnx.state((model, optimizer)), mesh))
    manager = checkpoints.manager(workdir)
    meta = {"step": 0, "history": []}
    ema = parallel.replicate(_pure_params(model), mesh)
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
        scored = _with_params(model, ema) if config.ema_decay > 0 else model
        record = {"epoch": epoch + 1, "step": step,
                  "train_loss": float(np.mean(losses)) if losses else float("nan"),
                  "valid": evaluate(scored, valid, mesh), "test": evaluate(scored, test, mesh),
                  "seconds": time.perf_counter() - t0, "skipped_steps": skipped,
                  "train_frames": frames}  # fmt: skip
        record["lr"] = _learning_rate(optimizer)
        if not losses or not _finite_nll(record):
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
        _write_metrics(workdir, history)
        note = f"  {skipped} non-finite steps skipped" if skipped else ""
        print(
            f"epoch {epoch + 1}: train {record['train_loss']:.3f}  valid NLL "
            f"{record['valid']['nll']:.3f}  test NLL {record['test']['nll']:.3f}  "
            f"ACC {record['test']['acc']:.2f}%  ({record['seconds']:.1f} s){note}",
            flush=True,
        )
        stop = _should_stop(history, config)
    manager.close()
    result = _result(config, history, cell_params(model))
    if writer:
        _write_summary(workdir, config, result, history)
        _plot(workdir, history, result)
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
    since_best = len(history) - _best(history)["epoch"]
    rates = [r["lr"] for r in history]
    since_change = next((i for i, lr in enumerate(reversed(rates)) if lr != rates[-1]), len(rates))
    if since_best >= config.lr_patience and since_change >= config.lr_patience:
        lr = optimizer.opt_state[1].hyperparams["learning_rate"]
        lr[...] = lr[...] * config.lr_decay


def _finite_nll(record: dict) -> bool:
    return bool(np.isfinite(record["valid"]["nll"]) and np.isfinite(record["test"]["nll"]))


def _best(history: list[dict]) -> dict:
    """The record with the best validation NLL (a non-finite one is never the best)."""
    return min(
        history, key=lambda r: r["valid"]["nll"] if np.isfinite(r["valid"]["nll"]) else math.inf
    )


def _diverged_message(record: dict, history: list[dict], steps_per_epoch: int, workdir) -> str:
    best = _best(history) if history else None
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
    return len(history) - _best(history)["epoch"] >= config.patience


def _progress(it, config, desc):
    if not config.progress:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=desc, leave=False, file=sys.stderr)


def _result(config, history, n_params: int) -> dict:
    best = _best(history)
    return {
        "dataset": config.dataset,
        "cell": config.cell.kind,
        "rank": list(config.cell.rank)
        if isinstance(config.cell.rank, tuple | list)
        else config.cell.rank,
        "cell_params": n_params,
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "valid_nll": best["valid"]["nll"],
        "test_nll": best["test"]["nll"],
        "test_acc": best["test"]["acc"],
        "test_frames": best["test"]["frames"],
        "learning_rate": config.learning_rate,
        "dropout": config.dropout,
        "ema_decay": config.ema_decay,
        "batch_size": config.batch_size,
        "train_chunk": train_chunk(config),
        "weight_decay": weight_decay(config),
        "seed": config.seed,
        "skipped_steps": sum(int(r.get("skipped_steps", 0)) for r in history),
        "first_skipped_epoch": next((r["epoch"] for r in history if r.get("skipped_steps")), None),
        # runs from before non-finite steps were skipped went on training on NaNs
        "first_nonfinite_epoch": next((r["epoch"] for r in history if not _finite_nll(r)), None),
        "finished": True,
    }


def _write_metrics(workdir: Path, history: list[dict]) -> None:
    with open(workdir / "metrics.jsonl", "w") as f:
        for record in history:
            f.write(json.dumps(record) + "\n")


def _write_summary(workdir: Path, config, result: dict, history) -> None:
    label, n_pub, rows = PUBLISHED[config.cell.kind]
    pub = rows.get(config.dataset)
    lines = [
        f"# Polyphonic music: {config.cell.kind} cell on {config.dataset}",
        "",
        f"Selected epoch {result['best_epoch']} of {result['epochs_run']} (best validation NLL "
        f"{result['valid_nll']:.3f}); {result['test_frames']} test frames.",
        "",
        "| model | cell params | test NLL | test ACC % |",
        "|---|---|---|---|",
        f"| lrjax {config.cell.kind} rank {result['rank']} | {result['cell_params']:,} | "
        f"{result['test_nll']:.3f} | {result['test_acc']:.2f} |",
    ]
    if pub is not None:
        lines.append(f"| published {label} | {n_pub:,} | {pub[0]} | {pub[1]} |")
    lines += ["", f"config: `{json.dumps(config.to_dict(), default=str)}`", ""]
    (workdir / "summary.md").write_text("\n".join(lines))
    (workdir / "result.json").write_text(json.dumps(result, indent=1))
    print("\n".join(lines[4:8]))


def _plot(workdir: Path, history, result) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [r["train_loss"] for r in history], label="train loss (dropout on)")
    ax.plot(epochs, [r["valid"]["nll"] for r in history], label="valid NLL")
    ax.plot(epochs, [r["test"]["nll"] for r in history], label="test NLL")
    ax.axvline(result["best_epoch"], color="gray", ls=":", label="selected epoch")
    # the first epochs (an EMA still close to the initial weights) are far above the rest:
    # scale the axis to the curves after the first fifth of the run
    late = [v for r in history[len(history) // 5 :] for v in
            (r["train_loss"], r["valid"]["nll"], r["test"]["nll"])]  # fmt: skip
    if len(history) >= 5 and all(np.isfinite(late)):
        lo, hi = min(late), max(late)
        ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats / frame)")
    ax.set_title(f"{result['cell']} cell, {result['cell_params']:,} params, {result['dataset']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(workdir / "learning_curves.png", dpi=100)
    plt.close(fig)
