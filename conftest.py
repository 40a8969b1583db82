"""Repository-wide pytest configuration: docstring examples run as users run them.

``--doctest-modules`` collects the examples in every ``lrjax`` module. They are written for
JAX's default float32, while the test suite turns on float64 (``tests/conftest.py``), so each
example runs inside ``jax.enable_x64(False)``.
"""

import jax
import pytest


@pytest.fixture(autouse=True)
def _doctests_in_default_precision(request):
    if isinstance(request.node, pytest.DoctestItem):
        with jax.enable_x64(False):
            yield
    else:
        yield
