"""Command line: python -m experiments.background --config=... --workdir=..."""

from absl import app, flags
from ml_collections import config_flags

from experiments.background.main import run

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/background/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", "runs/background", "Where results are written.")


def main(argv):
    del argv
    run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
