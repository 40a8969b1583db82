"""Test configuration: float64 for exact-recovery tests, seeded keys."""

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def directional_fd(f, x, v, h=1e-5):
    """Central finite difference of scalar ``f`` at ``x`` in direction ``v``."""
    return (f(x + h * v) - f(x - h * v)) / (2 * h)
