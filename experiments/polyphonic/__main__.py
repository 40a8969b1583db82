"""Command line: python -m experiments.polyphonic --config=... --workdir=..."""

from absl import logging

from experiments._cli import launch
from experiments.polyphonic.configuration import validate


def _quiet_orbax(config) -> None:
    del config
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO


if __name__ == "__main__":
    launch(
        "polyphonic", "experiments.polyphonic.main:run", validate=validate, before_run=_quiet_orbax
    )
