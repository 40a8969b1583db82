"""Command line: python -m experiments.cs_recovery --config=... --workdir=..."""

from absl import app, flags
from ml_collections import config_flags

from experiments.cs_recovery.main import run

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/cs_recovery/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", "runs/cs_recovery", "Where results are written.")


def main(argv):
    del argv
    run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
