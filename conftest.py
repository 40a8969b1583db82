"""Repository-wide pytest configuration.

* Eight CPU devices: every test process (xdist workers included) starts JAX with
  ``--xla_force_host_platform_device_count=8``, so the sharded and multi-device tests run on
  any machine. Programs that do not ask for a mesh still run on device 0 alone (measured: the
  single-device tests take the same time with or without the flag). This must happen before
  JAX initialises its backends, hence here, before ``import jax``.
* Faster compiles: XLA:CPU's fusion emitters (its newer MLIR code generator) take most of the
  suite's compile time; ``--xla_cpu_use_fusion_emitters=false`` uses the older emitters,
  which took a sample of the suite (test_tucker, test_dense, tests/imaging, tests/solvers)
  from 84 s to 45 s on 2 cores with every test passing. ``LRJAX_TEST_OPTIMIZE=1`` compiles as
  users do (tests/conftest.py), without this flag.
* Docstring examples run as users run them: ``--doctest-modules`` collects the examples in
  every ``lrjax`` module. They are written for JAX's default float32, while the test suite
  turns on float64 (``tests/conftest.py``), so each example runs inside
  ``jax.enable_x64(False)``.
"""

import os

TEST_DEVICES = 8
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={TEST_DEVICES}"
    ).strip()

FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"
_flags = os.environ.get("XLA_FLAGS", "")
if not os.environ.get("LRJAX_TEST_OPTIMIZE") and "xla_cpu_use_fusion_emitters" not in _flags:
    os.environ["XLA_FLAGS"] = f"{_flags} {FAST_COMPILE_FLAG}".strip()

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctests_in_default_precision(request):
    if isinstance(request.node, pytest.DoctestItem):
        with jax.enable_x64(False):
            yield
    else:
        yield
