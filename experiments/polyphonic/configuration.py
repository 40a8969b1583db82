"""The polyphonic runner's config: its checks before a run, and its record in the workdir."""

from __future__ import annotations

import json
import math
from pathlib import Path

from experiments._workdir import check_resumable

# Fields that may change between an interrupted run and its resumption: they decide when to stop,
# how often to checkpoint, how fast to evaluate and what to print, not what is trained. ``mesh``
# (how the batch is laid out on devices) does not change the result either: a checkpoint
# written on 8 devices resumes on 1 or 4.
RUN_CONTROL = frozenset(
    {"max_epochs", "patience", "progress", "stop_after_steps", "checkpoint_every_steps",
     "eval_batch_size", "mesh", "distributed"}
)  # fmt: skip


# Fields added to the config after runs were recorded without them, with the value that gives
# the behaviour of those runs: a workdir without the field resumes under that value.
ADDED_FIELDS = {"train_chunk": -1, "weight_decay": 0.0, "steps_per_beat": 1}

CELLS = ("gru", "cp", "tucker", "tt")


def train_chunk(config) -> int:
    """``config.train_chunk``, or its value before the field existed for an older record."""
    return int(config.get("train_chunk", ADDED_FIELDS["train_chunk"]))


def weight_decay(config) -> float:
    """``config.weight_decay``, or its value before the field existed for an older record."""
    return float(config.get("weight_decay", ADDED_FIELDS["weight_decay"]))


def _positive_int(config, name: str, *, allow_off: bool = False) -> str | None:
    value = config.get(name)
    off = allow_off and value == -1
    if isinstance(value, bool) or not isinstance(value, int) or not (value >= 1 or off):
        allowed = "a positive int" + (" or -1 (off)" if allow_off else "")
        return f"config.{name} must be {allowed}, got {value!r}"
    return None


def _number(config, name: str, test, allowed: str) -> str | None:
    value = config.get(name)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not test(value):
        return f"config.{name} must be {allowed}, got {value!r}"
    return None


def validate(config) -> list[str]:
    """Every problem with ``config``, one line each (empty when it can run).

    Checked before anything runs, so that a bad value fails in a second with its name instead
    of minutes later (or never: a negative learning rate or ``dropout=1.5`` would train
    garbage to the end).
    """
    problems = [
        _positive_int(config, "batch_size"),
        _positive_int(config, "eval_batch_size"),
        _positive_int(config, "max_epochs"),
        _positive_int(config, "patience"),
        _positive_int(config, "checkpoint_every_steps"),
        _positive_int(config, "min_bucket"),
        _positive_int(config, "embed"),
        _positive_int(config, "hidden"),
        _number(config, "lr_patience", lambda v: v >= 0 and v == int(v), "an int >= 0"),
        _positive_int(config, "train_chunk", allow_off=True) if "train_chunk" in config else None,
        _positive_int(config, "limit_sequences", allow_off=True),
        _positive_int(config, "max_length", allow_off=True),
        _positive_int(config, "stop_after_steps", allow_off=True),
        _number(config, "learning_rate", lambda v: v > 0, "a positive number"),
        _number(config, "dropout", lambda v: 0 <= v < 1, "in [0, 1)"),
        _number(config, "ema_decay", lambda v: 0 <= v < 1, "in [0, 1)"),
        _number(config, "lr_decay", lambda v: 0 < v <= 1, "in (0, 1]"),
        _number(config, "clip_norm", lambda v: v > 0, "a positive number"),
        _number(config, "weight_decay", lambda v: v >= 0, "a non-negative number")
        if "weight_decay" in config
        else None,
    ]
    if config.get("cell", {}).get("kind") not in CELLS:
        problems.append(f"config.cell.kind must be one of {CELLS}, got {config.cell.kind!r}")
    if isinstance(config.get("seed"), bool) or not isinstance(config.get("seed"), int):
        problems.append(f"config.seed must be an int, got {config.get('seed')!r}")
    if "mesh" in config:
        from experiments.polyphonic.parallel import mesh_problems

        problems += mesh_problems(config)
    return [p for p in problems if p]


def config_record(config) -> dict:
    return json.loads(json.dumps(config.to_dict(), default=str))


def check_config(workdir: Path, config) -> None:
    """Record the config in ``workdir/config.json``, or check it against the recorded one
    when the workdir holds a run to resume (a checkpoint or a finished epoch).

    Resuming a run with a different model, data or optimiser setting would silently mix two
    experiments; that raises ``ValueError`` naming the fields (those in ``RUN_CONTROL`` may
    change, e.g. ``--config.max_epochs`` to train longer).
    """
    ckpt = Path(workdir) / "checkpoints"
    trained = (Path(workdir) / "metrics.jsonl").exists() or (
        ckpt.is_dir() and any(p.name.isdigit() for p in ckpt.iterdir())
    )
    check_resumable(workdir, config, trained=trained, may_change=RUN_CONTROL, added=ADDED_FIELDS)


def read_config(workdir: str | Path):
    """The ``ConfigDict`` recorded in ``workdir/config.json`` by the runner."""
    import ml_collections

    # tuples come back as lists; make_cell and _result accept either
    return ml_collections.ConfigDict(json.loads((Path(workdir) / "config.json").read_text()))
