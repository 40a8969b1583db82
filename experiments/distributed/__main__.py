"""Command line: python -m experiments.distributed --config=... --workdir=...

The agents are devices: without a multi-device machine, 8 host CPU devices are forced (set
``XLA_FLAGS`` yourself to choose another count) before JAX starts.
"""

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()

from experiments._cli import launch
from experiments.distributed.main import run, validate

if __name__ == "__main__":
    launch("distributed", run, validate=validate)
