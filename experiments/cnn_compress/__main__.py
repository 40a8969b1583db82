"""Command line: python -m experiments.cnn_compress --config=... --workdir=..."""

import os

from absl import logging

from experiments._cli import launch
from experiments.cnn_compress.main import run, validate


def _before_run(config) -> None:
    """Quiet orbax's INFO logs; turn XLA:CPU's YNNPACK fusion off unless
    ``config.xla_ynn_fusion`` (before JAX starts its backend; a flag already in ``XLA_FLAGS``
    wins)."""
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    flags = os.environ.get("XLA_FLAGS", "")
    if not config.xla_ynn_fusion and "ynn_fusion_type" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_experimental_ynn_fusion_type=").strip()


if __name__ == "__main__":
    launch("cnn_compress", run, validate=validate, before_run=_before_run)
