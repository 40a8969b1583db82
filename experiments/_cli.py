"""The shared command line of the experiments: ``--config`` (an ml_collections config file with
``--config.<field>=<value>`` overrides) and ``--workdir``."""

from __future__ import annotations

from collections.abc import Callable

from absl import app, flags
from ml_collections import config_flags


def launch(name: str, run: Callable[..., object]) -> None:
    """Parse ``--config`` (default ``experiments/<name>/configs/default.py``) and ``--workdir``
    (default ``runs/<name>``), then call ``run(config, workdir)``."""
    config = config_flags.DEFINE_config_file("config", f"experiments/{name}/configs/default.py")
    workdir = flags.DEFINE_string("workdir", f"runs/{name}", "Where results are written.")

    def main(argv):
        del argv
        run(config.value, workdir.value)

    app.run(main)
