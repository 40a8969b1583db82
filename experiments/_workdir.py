"""What every runner does with its workdir: take it exclusively, record the config it was
started with and refuse to resume under another, and read its row logs tolerantly.

A workdir belongs to one run at a time (``WorkdirLock``); a run never leaves a file that stops
the next one (a torn last line of ``metrics.jsonl`` is the row that was being written when
the run stopped, and is dropped).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class WorkdirBusy(RuntimeError):
    """Raised when another live run holds the workdir."""


class DistributedStartError(RuntimeError):
    """Raised when the processes of a multi-process run do not come together (a process count
    that does not match the processes started, a coordinator that is not there), before the
    workdir is touched: the run can be started again as it was."""


class WorkdirLock:
    """An exclusive lock on ``workdir`` for the duration of a ``with`` block.

    The lock is ``fcntl.flock`` on ``workdir/.lock``, a file that records the holder's PID,
    host and start time for the message a second run gets. The operating system releases an
    ``flock`` when its process dies, so a lock left by a killed run is stale by construction:
    the next run takes it (and says so). Where ``fcntl`` is missing (Windows), an exclusively
    created file with the PID stands in, and a lock whose PID is no longer running is taken
    over.
    """

    def __init__(self, workdir: str | os.PathLike):
        self.workdir = Path(workdir)
        self.path = self.workdir / ".lock"
        self._fd: int | None = None

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return "another process"
        return (
            f"PID {info.get('pid')} on {info.get('host')}, started "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(info.get('time', 0)))}"
        )

    def __enter__(self) -> WorkdirLock:
        self.workdir.mkdir(parents=True, exist_ok=True)
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()})
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            self._enter_pidfile(record)
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder()
            os.close(fd)
            raise WorkdirBusy(
                f"workdir {str(self.workdir)!r} is in use by another run ({holder}); wait for "
                "it to finish, stop it, or choose another --workdir"
            ) from None
        previous = os.read(fd, 4096)
        if previous.strip():
            print(f"note: took over the stale lock of a run that stopped ({previous.decode()})")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, record.encode())
        self._fd = fd
        return self

    def _enter_pidfile(self, record: str) -> None:  # pragma: no cover - not POSIX
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    pid = int(json.loads(self.path.read_text()).get("pid", -1))
                    os.kill(pid, 0)
                except (OSError, ValueError):
                    self.path.unlink(missing_ok=True)  # stale: its process is gone
                    continue
                raise WorkdirBusy(
                    f"workdir {str(self.workdir)!r} is in use by another run ({self._holder()})"
                ) from None
            os.write(fd, record.encode())
            self._fd = fd
            return

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty lock file: nothing stale to report
        finally:
            os.close(self._fd)  # releases the flock
            self._fd = None
            if "fcntl" not in sys.modules:  # pragma: no cover - pid-file fallback
                self.path.unlink(missing_ok=True)


def flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, Mapping) else {prefix + k: v})
    return out


def config_record(config) -> dict:
    """The config as plain JSON data (tuples become lists)."""
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    return json.loads(json.dumps(data, default=str))


def check_resumable(
    workdir: str | os.PathLike,
    config,
    *,
    trained: bool,
    may_change: Iterable[str] = (),
    added: Mapping[str, Any] | None = None,
) -> None:
    """Record the config in ``workdir/config.json``, or, when the workdir holds results to
    resume (``trained``), check the config against the recorded one.

    Resuming with another setting would silently mix two experiments: that raises
    ``ValueError`` naming every field that differs. Fields in ``may_change`` (when to stop,
    what to print, which further jobs to run) may differ; ``added`` gives fields introduced
    after some workdirs were recorded, with the value that reproduces those runs.
    """
    path = Path(workdir) / "config.json"
    given = config_record(config)
    if not path.exists() or not trained:  # nothing to resume: (re)record
        path.write_text(json.dumps(given, indent=1) + "\n")
        return
    try:
        saved = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path}: the recorded config is not valid JSON ({err}).") from None
    old, new = {**(added or {}), **flatten(saved)}, flatten(given)
    allowed = set(may_change)
    diff = [
        f"{k}: {old.get(k, '<unset>')!r} in the run, {new.get(k, '<unset>')!r} given"
        for k in sorted(set(old) | set(new))
        if k not in allowed and k.split(".")[0] not in allowed and old.get(k) != new.get(k)
    ]
    if diff:
        raise ValueError(
            f"workdir {str(workdir)!r} holds a run with another config ({'; '.join(diff)}); "
            "resume it with the same config, choose a new --workdir, or delete this one to start "
            "over"
        )


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of a JSON-lines file. A torn last line (the record being written when a
    run stopped) is dropped from the file, with a note; a bad line elsewhere is an error that
    names the file and the line."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as err:
            if i == len(lines) - 1:
                print(f"note: dropped a torn last line of {path} (a record being written)")
                path.write_text("".join(ln + "\n" for ln in lines[:i]))
                break
            raise ValueError(f"{path}, line {i + 1}: not valid JSON ({err}).") from None
    return rows
