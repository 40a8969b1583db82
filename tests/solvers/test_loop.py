"""The iteration driver against closed forms: z <- a z + b theta has fixed point b theta/(1-a)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax.solvers import implicit_fixed_point, iterate


def _step(z, theta):
    z_new = 0.5 * z + jnp.sin(theta)
    err = jnp.linalg.norm(z_new - 2 * jnp.sin(theta))
    return z_new, err


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_fixed_point_and_gradient_closed_form(diff):
    theta = jnp.array([0.3, -1.2, 0.7])
    z, info = iterate(_step, jnp.zeros(3), theta, maxiter=200, tol=1e-14, diff=diff)
    np.testing.assert_allclose(np.asarray(z), 2 * np.sin(np.asarray(theta)), atol=1e-12)
    assert bool(info.converged)
    n = int(info.n_iter)
    assert np.all(np.isfinite(np.asarray(info.history[:n])))
    assert np.all(np.isnan(np.asarray(info.history[n:])))
    g = jax.grad(
        lambda t: jnp.sum(iterate(_step, jnp.zeros(3), t, maxiter=200, tol=1e-14, diff=diff)[0])
    )(theta)
    np.testing.assert_allclose(np.asarray(g), 2 * np.cos(np.asarray(theta)), rtol=1e-8)


def test_tol_zero_runs_all_steps_and_maxiter_reports_not_converged():
    _, info = iterate(_step, jnp.zeros(3), jnp.ones(3), maxiter=7, tol=0.0)
    assert int(info.n_iter) == 7 and not bool(info.converged)


def test_vmap_lanes_stop_independently():
    def step(z, theta):
        return z * theta, jnp.abs(z * theta).sum()

    thetas = jnp.array([0.0, 0.5, 0.9])
    z, info = jax.vmap(lambda t: iterate(step, jnp.ones(1), t, maxiter=50, tol=1e-3))(thetas)
    n = np.asarray(info.n_iter)
    assert n[0] < n[1] < n[2]
    for lane in range(3):  # each lane equals its own unbatched run
        z1, info1 = iterate(step, jnp.ones(1), thetas[lane], maxiter=50, tol=1e-3)
        np.testing.assert_allclose(np.asarray(z[lane]), np.asarray(z1))
        assert int(info1.n_iter) == n[lane]


def test_breakdown_is_reported_not_hidden():
    def step(z, theta):
        z = z * theta
        return z, jnp.log(-jnp.abs(z).sum())  # NaN

    _, info = iterate(step, jnp.ones(2), 2.0, maxiter=10, tol=1e-8)
    assert not bool(info.converged) and not np.isfinite(float(info.error))
    assert int(info.n_iter) == 1


def test_implicit_fixed_point_vector_jacobian():
    # z* = A z* + B theta  ->  dz*/dtheta = (I - A)^{-1} B
    rng = np.random.default_rng(1)
    a = 0.3 * rng.standard_normal((4, 4)) / 2
    b = rng.standard_normal((4, 2))
    theta = jnp.array([0.5, -0.2])
    z_star = np.linalg.solve(np.eye(4) - a, b @ np.asarray(theta))
    fmap = lambda z, t: jnp.asarray(a) @ z + jnp.asarray(b) @ t
    jac = jax.jacrev(lambda t: implicit_fixed_point(fmap, jnp.asarray(z_star), t))(theta)
    np.testing.assert_allclose(np.asarray(jac), np.linalg.solve(np.eye(4) - a, b), rtol=1e-9)


def test_a_cycle_is_not_convergence():
    """z -> 1 - z keeps its error constant, so the change of the error alone reported
    convergence after 2 steps (issue 26, item 6); the iterate still moves."""
    step = lambda z, p: (1.0 - z, jnp.linalg.norm(z - 0.5))
    _, info = iterate(step, jnp.array([0.2, 0.9, -0.4]), None, maxiter=50, tol=1e-6)
    assert not bool(info.converged) and int(info.n_iter) == 50


def test_watch_restricts_the_movement_test_to_the_iterate():
    """A state ``(x, damping)`` whose damping keeps growing once x has converged still stops
    when only x is watched."""

    def step(state, p):
        x, damping = state
        return (0.5 * (x + p / x), damping * 4.0), jnp.abs(x * x - p)

    state0 = (jnp.array(1.0), jnp.array(1.0))
    _, info = iterate(step, state0, 2.0, maxiter=60, tol=1e-12, watch=lambda s: s[0])
    assert bool(info.converged) and int(info.n_iter) < 15
    _, info = iterate(step, state0, 2.0, maxiter=60, tol=1e-12)
    assert not bool(info.converged)


@pytest.mark.parametrize("diff", ["unroll", "implicit"])
def test_a_step_closing_over_an_integer_argument_of_a_jit_differentiates(diff):
    """A step that closes over an index array passed to an enclosing ``jit``, differentiated
    from outside that ``jit``: ``jax.closure_convert`` leaves integer tracers inside the step,
    and the custom VJP then failed to lower ("No constant handler for type")."""
    import functools

    idx = jnp.array([0, 1, 2, 0, 1])

    @functools.partial(jax.jit, static_argnames="diff")
    def solve(v, idx, diff):
        # z = z/2 + segment_sum(v)/2: the fixed point is z* = segment_sum(v, idx)
        step = lambda z, p: (0.5 * z + 0.5 * jax.ops.segment_sum(p, idx, num_segments=3), 0.0)
        return iterate(step, jnp.zeros(3), v, maxiter=60, tol=0.0, diff=diff)[0]

    v = jnp.arange(5.0)
    g = jax.grad(lambda v: jnp.sum(solve(v, idx, diff) ** 2))(v)
    z_star = jax.ops.segment_sum(v, idx, num_segments=3)  # d/dv_i sum(z*^2) = 2 z*[idx_i]
    np.testing.assert_allclose(g, 2 * z_star[idx], rtol=1e-9)
