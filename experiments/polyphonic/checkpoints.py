"""Orbax checkpoints of the polyphonic runner: the model, the optimiser, the moving average and
the run's record, saved together; restored from the newest checkpoint that restores."""

from __future__ import annotations

import shutil
from pathlib import Path

from flax import nnx


def manager(workdir: Path):
    """The run's ``CheckpointManager`` (the last two checkpoints kept, synchronous saves)."""
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
    return ocp.CheckpointManager((Path(workdir) / "checkpoints").absolute(), options=options)


def _state(model, optimizer, ema) -> dict:
    return {"model": nnx.state(model, nnx.Param), "opt": nnx.state(optimizer), "ema": ema}


def save(mgr, step: int, model, optimizer, ema, meta: dict) -> None:
    import orbax.checkpoint as ocp

    args = ocp.args.Composite(
        state=ocp.args.StandardSave(_state(model, optimizer, ema)), meta=ocp.args.JsonSave(meta)
    )
    mgr.save(step, args=args, force=True)


def restore(mgr, model, optimizer, ema, workdir: Path) -> tuple[dict, dict] | None:
    """Restore the newest checkpoint that restores into ``model``, ``optimizer`` and ``ema``.

    A checkpoint that fails (a truncated array file, emptied metadata: a run killed while
    writing, a full disk) is moved to ``workdir/corrupt_checkpoints/<step>`` (kept, not
    deleted) with a note, and the next older one is tried. Returns ``(ema, meta)``, or None
    when the workdir has no checkpoint.

    Raises:
        RuntimeError: when checkpoints exist and none restores; it names each one and why.
    """
    import orbax.checkpoint as ocp

    failures = []
    for step in sorted(mgr.all_steps(), reverse=True):
        target = _state(model, optimizer, ema)
        args = ocp.args.Composite(
            state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()
        )
        try:
            restored = mgr.restore(step, args=args)
            meta = dict(restored["meta"])
            if "step" not in meta or "history" not in meta:
                raise ValueError(f"its metadata has no step or history: {sorted(meta)}")
        except Exception as err:  # orbax raises many types for damaged files
            failures.append(f"step {step}: {type(err).__name__}: {str(err)[:200]}")
            _set_aside(mgr, step, Path(workdir))
            print(
                f"note: checkpoint of step {step} does not restore ({type(err).__name__}); "
                f"moved to {Path(workdir) / 'corrupt_checkpoints' / str(step)}, trying an "
                "older one"
            )
            continue
        nnx.update(model, restored["state"]["model"])
        nnx.update(optimizer, restored["state"]["opt"])
        return restored["state"]["ema"], meta
    if failures:
        raise RuntimeError(
            f"no checkpoint under {Path(workdir) / 'checkpoints'} restores ("
            + "; ".join(failures)
            + "); they were moved to corrupt_checkpoints/. Delete the workdir to start over."
        )
    return None


def _set_aside(mgr, step: int, workdir: Path) -> None:
    """Move a damaged checkpoint out of the manager's folder, so that the run can save that
    step again and a later resumption does not trip on it."""
    import jax

    src = Path(mgr.directory) / str(step)
    dst = workdir / "corrupt_checkpoints" / str(step)
    if src.exists() and jax.process_index() == 0:  # one process moves it
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            shutil.rmtree(dst)
        shutil.move(str(src), str(dst))
    mgr.reload()
