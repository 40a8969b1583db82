"""The iteration driver shared by lrjax's iterative routines.

``iterate`` runs ``z <- step(z, params)`` until the error stops changing by more than ``tol``
or ``maxiter`` steps have run, and returns the last iterate with a :class:`SolverInfo`.
Forward iteration is a ``lax.while_loop`` (under ``vmap``, lanes that have stopped keep their
value while the others go on). Gradients with respect to ``params`` come from

* ``diff="implicit"``: the implicit function theorem at the fixed point (custom VJP, memory
  independent of the number of iterations), or
* ``diff="unroll"``: reverse mode through a ``lax.scan`` of ``maxiter`` steps in which
  stopped iterates are frozen and the steps after the stop are skipped (``lax.cond``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from jax import lax

from ._implicit import implicit_fixed_point
from ._info import SolverInfo

Z = TypeVar("Z")
StepFn = Callable[[Z, Any], tuple[Z, jax.Array]]


def _stop(err, err_prev, tol, criterion):
    """Stopping test: the error (``"value"``) or its change (``"change"``) is below ``tol``,
    or the error broke down."""
    measure = err if criterion == "value" else jnp.abs(err_prev - err)
    return (measure < tol) | ~jnp.isfinite(err)


def _select(pred, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, b, a), new, old)


def iterate(
    step: StepFn,
    z0: Z,
    params: Any,
    *,
    maxiter: int,
    tol: jax.Array | float,
    diff: str = "implicit",
    criterion: str = "change",
    implicit: Callable[[Z, Any], Z] | None = None,
) -> tuple[Z, SolverInfo]:
    """Run a fixed-point iteration to convergence.

    Args:
        step: ``step(z, params) -> (z_next, error)``, ``error`` a scalar that measures the
            quality of ``z_next`` (e.g. relative reconstruction error).
        z0: initial iterate (pytree).
        params: pytree the result is differentiated with respect to (the data).
        maxiter: maximum number of steps (static, at least 1).
        tol: with ``criterion="change"`` stop when ``|error_k - error_{k-1}| < tol``; with
            ``criterion="value"`` when ``error_k < tol`` (traced); ``tol=0`` runs all steps.
        diff: ``"implicit"`` or ``"unroll"``; see the module docstring.
        criterion: ``"change"`` (default) or ``"value"``.
        implicit: with ``diff="implicit"``, the function ``(z, params) -> z`` that attaches
            gradients to the converged iterate. Default:
            ``implicit_fixed_point(step_without_error, z, params)``. Solvers whose state
            carries more than the fixed point (momentum, a penalty schedule) pass their own.

    Returns:
        ``(z, info)``. ``info.converged`` is True when the test was met within ``maxiter``
        steps with a finite error.
    """
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(z0))
    history0 = jnp.full((maxiter,), jnp.nan, dtype=dtype)
    inf = jnp.array(jnp.inf, dtype=dtype)
    tol = jnp.asarray(tol, dtype=dtype)

    if diff == "unroll":

        def run_step(z, err_prev):
            z_new, err = step(z, params)
            return z_new, jnp.asarray(err, dtype)

        def skip_step(z, err_prev):
            return z, err_prev

        def scan_body(carry, _):
            z, err_prev, k, done, hist = carry
            # Stopped iterations are skipped at run time (under vmap both branches run and
            # the stopped lanes are frozen by the selects below).
            z_new, err = lax.cond(done, skip_step, run_step, z, err_prev)
            active = ~done
            z = _select(done, z_new, z)
            hist = hist.at[k].set(jnp.where(active, err, hist[k]))
            err_now = jnp.where(active, err, err_prev)
            k = k + active.astype(k.dtype)
            done = done | (active & _stop(err, err_prev, tol, criterion))
            # err_prev holds the last error once stopped.
            return (z, err_now, k, done, hist), None

        carry0 = (z0, inf, jnp.array(0, jnp.int32), jnp.array(False), history0)
        (z, err, n_iter, done, history), _ = lax.scan(scan_body, carry0, None, length=maxiter)
    else:
        z0 = jax.tree_util.tree_map(lax.stop_gradient, z0)
        params_fwd = jax.tree_util.tree_map(lax.stop_gradient, params)

        def cond(carry):
            _, err, err_prev, k, _ = carry
            return (k < maxiter) & ~((k > 0) & _stop(err, err_prev, tol, criterion))

        def while_body(carry):
            z, err, _, k, hist = carry
            z_new, err_new = step(z, params_fwd)
            return z_new, err_new, err, k + 1, hist.at[k].set(err_new)

        carry0 = (z0, inf, inf, jnp.array(0, jnp.int32), history0)
        z, err, err_prev, n_iter, history = lax.while_loop(cond, while_body, carry0)
        done = (n_iter > 0) & _stop(err, err_prev, tol, criterion)
        if implicit is None:
            z = implicit_fixed_point(lambda zz, pp: step(zz, pp)[0], z, params)
        else:
            z = implicit(z, params)

    converged = done & jnp.isfinite(err)
    info = SolverInfo(n_iter=n_iter, error=err, converged=converged, history=history)
    return z, info
