"""Levenberg-Marquardt: the loop over damping tries, and gradients of vmapped fits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lrjax.solvers import levenberg_marquardt
from lrjax.solvers._least_squares import _until_accepted
from tests.conftest import directional_fd

ATTEMPTS = 4


def _attempt(carry, operands):
    """A try that moves ``x`` smoothly in ``w`` and is accepted at try number ``need``."""
    (x, k, _), (w, need) = carry, operands
    return x + jnp.sin(w * x), k + 1, k + 1 >= need


def _python_loop(carry, operands):
    """The former implementation, as the oracle: a Python loop of ``lax.cond``."""
    for _ in range(ATTEMPTS):
        carry = lax.cond(carry[-1], lambda c: c, lambda c: _attempt(c, operands), carry)
    return carry


@pytest.mark.parametrize("loop", [_until_accepted, None], ids=["until_accepted", "oracle"])
def test_until_accepted_matches_a_loop_of_cond_under_vmap_and_grad(loop):
    # lanes accepted at the 1st and 3rd try, and one never accepted (it stops at ATTEMPTS)
    need = jnp.array([1, 3, ATTEMPTS + 2])
    x0, w = jnp.array([0.3, 0.5, 0.7]), jnp.array([1.1, 0.9, 1.3])

    def run(x0, w, need, fn):
        carry0 = (x0, jnp.array(0), jnp.array(False))
        if fn is None:
            return _python_loop(carry0, (w, need))
        return fn(_attempt, carry0, (w, need), ATTEMPTS)

    x, k, accepted = jax.jit(jax.vmap(lambda *a: run(*a, loop)))(x0, w, need)
    np.testing.assert_array_equal(k, [1, 3, ATTEMPTS])  # each lane's own number of tries
    np.testing.assert_array_equal(accepted, [True, True, False])
    want = jax.vmap(lambda *a: run(*a, None))(x0, w, need)[0]
    np.testing.assert_allclose(x, want, rtol=1e-15)
    # reverse mode, w.r.t. the start and to a value the try closes over
    loss = lambda x0, w, fn: jnp.sum(jax.vmap(lambda *a: run(*a, fn)[0])(x0, w, need) ** 2)
    grads = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(x0, w, loop)
    v = jnp.array([0.2, -0.7, 0.4])
    for g, fd in zip(
        grads,
        [
            directional_fd(lambda z: loss(z, w, None), x0, v, h=1e-6),
            directional_fd(lambda z: loss(x0, z, None), w, v, h=1e-6),
        ],
        strict=True,
    ):
        np.testing.assert_allclose(float(jnp.sum(g * v)), float(fd), rtol=1e-7)


T = jnp.linspace(0.0, 1.0, 8)


def _residual(x, y, observed):
    return jnp.where(observed, x[0] * jnp.exp(x[1] * T) - y, 0.0)


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_vmapped_fits_and_their_gradients(diff):
    """A batch of exponential fits, each with its own missing samples (a boolean argument,
    batched): each equals its own fit (planted a, b recovered on noise-free data) and the
    gradient of the fitted parameters matches finite differences."""
    ab = jnp.array([[2.0, -1.0], [0.5, 0.8], [1.5, -2.0]])
    noise = 0.05 * jax.random.normal(jax.random.key(0), (3, 8))
    observed = jnp.ones((3, 8), bool).at[0, 2].set(False).at[2, 5:7].set(False)
    clean = ab[:, :1] * jnp.exp(ab[:, 1:] * T)

    def fit(y, observed):
        x0 = jnp.array([1.0, 0.0])
        return levenberg_marquardt(_residual, x0, (y, observed), diff=diff).x

    np.testing.assert_allclose(jax.jit(jax.vmap(fit))(clean, observed), ab, rtol=1e-6)
    y = clean + noise
    batched = jax.jit(jax.vmap(fit))(y, observed)
    for i in range(3):
        np.testing.assert_allclose(batched[i], fit(y[i], observed[i]), rtol=1e-9)
    loss = lambda y: jnp.sum(jnp.sin(jax.vmap(fit)(y, observed)))
    g = jax.jit(jax.grad(loss))(y)
    v = jax.random.normal(jax.random.key(1), y.shape)
    fd = directional_fd(loss, y, v, h=1e-6)
    np.testing.assert_allclose(float(jnp.sum(g * v)), float(fd), rtol=1e-5)
