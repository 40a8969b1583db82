"""The shared command line of the experiments: ``--config`` (an ml_collections config file with
``--config.<field>=<value>`` overrides) and ``--workdir``.

Before anything runs, the launcher checks what it was given: ``--help`` lists the flags and
every config field with its default; an unknown or ill-typed ``--config.<field>`` and every
value the experiment's ``validate`` rejects are reported one line each (exit status 2, no
traceback); ``config.dtype = "float64"`` turns on JAX's 64-bit mode (it would otherwise be cut
to float32 silently). A run whose workdir another live run holds stops with exit status 3;
processes of a multi-process run that do not come together stop with exit status 4.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from experiments._workdir import DistributedStartError, WorkdirBusy, flatten

Validator = Callable[[object], list[str]]


def _flag_value(argv: Sequence[str], name: str, default: str) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(argv):
            return argv[i + 1]
    return default


def load_config_file(path: str):
    """``get_config()`` of a config file (the part of ``--config`` before any ``:``)."""
    file = Path(path.split(":", 1)[0])
    spec = importlib.util.spec_from_file_location(f"_lrjax_config_{file.stem}", file)
    if spec is None or spec.loader is None or not file.is_file():
        raise ValueError(f"--config: no config file at {str(file)!r}.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def help_text(name: str, argv: Sequence[str], default_config: str) -> str:
    """The usage, the flags and the config's fields with their values."""
    path = _flag_value(argv, "config", default_config)
    lines = [
        f"python -m experiments.{name} [--config=FILE] [--config.FIELD=VALUE ...] [--workdir=DIR]",
        "",
        "flags:",
        f"  --config    config file (default {default_config})",
        f"  --workdir   where results are written (default runs/{name}); one run at a time",
        "  --helpfull  every absl flag",
        "",
        f"config fields of {path} (override any with --config.FIELD=VALUE):",
    ]
    try:
        fields = flatten(load_config_file(path).to_dict())
    except Exception as err:  # the help must not fail on a broken config file
        return "\n".join([*lines, f"  (cannot read it: {err})"])
    width = max(len(k) for k in fields)
    lines += [f"  {k:<{width}}  {v!r}" for k, v in fields.items()]
    return "\n".join(lines)


def _quiet_parser(default_config: str) -> Callable[[list[str]], list[str]]:
    """absl's flag parsing, with a bad ``--config.<field>`` reported in one line."""

    def parse(argv: list[str]) -> list[str]:
        try:
            return flags.FLAGS(argv)
        except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as err:
            message = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
            bad = [a for a in argv[1:] if a.startswith("--config.")]
            hint = ""
            if isinstance(err, AttributeError | KeyError) and bad:
                try:
                    fields = sorted(
                        flatten(
                            load_config_file(_flag_value(argv, "config", default_config)).to_dict()
                        )
                    )
                except Exception:
                    fields = []
                unknown = [
                    a.split("=", 1)[0][len("--config.") :]
                    for a in bad
                    if a.split("=", 1)[0][len("--config.") :] not in fields
                ]
                if unknown:
                    message = f"unknown config field(s): {', '.join(unknown)}"
                    hint = " (--help lists the fields)"
            print(f"error: {message}{hint}", file=sys.stderr)
            sys.exit(2)

    return parse


def apply_dtype(config) -> None:
    """``config.dtype`` (if the config has one): ``float32`` or ``float64``, the latter turning
    on JAX's 64-bit mode before any array is made."""
    if "dtype" not in config:
        return
    if config.dtype not in ("float32", "float64"):
        return  # reported by check_common
    if config.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)


def check_common(config) -> list[str]:
    """Problems every runner shares (the dtype), one line each."""
    problems = []
    if "dtype" in config and config.dtype not in ("float32", "float64"):
        problems.append(f"config.dtype must be 'float32' or 'float64', got {config.dtype!r}")
    return problems


def _resolve(run: Callable[..., object] | str) -> Callable[..., object]:
    """``run`` itself, or the function a ``"package.module:function"`` string names
    (imported only when the run starts: ``--help`` and rejected configs never import JAX)."""
    if callable(run):
        return run
    module, _, attr = run.partition(":")
    return getattr(importlib.import_module(module), attr)


def launch(
    name: str,
    run: Callable[..., object] | str,
    *,
    validate: Validator | None = None,
    before_run: Callable[[object], None] | None = None,
) -> None:
    """Parse ``--config`` (default ``experiments/<name>/configs/default.py``) and ``--workdir``
    (default ``runs/<name>``), check the config, then call ``run(config, workdir)`` (which
    takes the workdir's lock).

    Args:
        name: the experiment's package name.
        run: ``run(config, workdir)``, or ``"package.module:run"`` to import it only once the
            config has passed its checks (``--help`` then answers in a fraction of a second).
        validate: ``validate(config) -> list of problems`` (one line each); any problem stops
            the launch with exit status 2 before anything runs.
        before_run: called with the checked config just before ``run`` (logging set-up).
    """
    default_config = f"experiments/{name}/configs/default.py"
    if any(a in ("--help", "-h", "-help", "--h") for a in sys.argv[1:]):
        print(help_text(name, sys.argv, default_config))
        sys.exit(0)
    config = config_flags.DEFINE_config_file("config", default_config)
    workdir = flags.DEFINE_string("workdir", f"runs/{name}", "Where results are written.")

    def main(argv):
        del argv
        cfg = config.value
        problems = check_common(cfg) + (validate(cfg) if validate else [])
        if problems:
            for p in problems:
                print(f"error: {p}", file=sys.stderr)
            sys.exit(2)
        apply_dtype(cfg)
        if before_run is not None:
            before_run(cfg)
        try:
            _resolve(run)(cfg, workdir.value)  # each runner locks its workdir (WorkdirLock)
        except WorkdirBusy as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(3)
        except DistributedStartError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(4)

    app.run(main, flags_parser=_quiet_parser(default_config))
