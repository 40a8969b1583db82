"""Command line: python -m experiments.polyphonic --config=... --workdir=..."""

from absl import app, flags, logging
from ml_collections import config_flags

from experiments.polyphonic.main import run

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/polyphonic/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", "runs/polyphonic", "Where results are written.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
