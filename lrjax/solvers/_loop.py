"""The iteration driver shared by lrjax's iterative routines.

``iterate`` runs ``z <- step(z, params)`` until the stopping test holds (the change of the
error, or the error itself, below ``tol``) or ``maxiter`` steps have run, and returns the last
iterate with a :class:`SolverInfo`.
Forward iteration is a ``lax.while_loop`` (under ``vmap``, lanes that have stopped keep their
value while the others go on). Gradients with respect to ``params`` come from

* ``diff="implicit"``: the implicit function theorem at the fixed point (custom VJP, memory
  independent of the number of iterations), or
* ``diff="unroll"``: the forward pass is the same while loop; reverse mode recomputes the
  iterations as a ``lax.scan`` of ``maxiter`` steps (stopped iterates frozen, later steps
  skipped by ``lax.cond``) and differentiates through it. Memory grows with ``maxiter``
  only when a gradient is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from jax import lax

from .. import _checks
from ._implicit import implicit_fixed_point
from ._info import SolverInfo

Z = TypeVar("Z")
StepFn = Callable[[Z, Any], tuple[Z, jax.Array]]


def _stop(err, err_prev, step_size, tol, criterion):
    """Stopping test: the error (``"value"``) or its change (``"change"``) is below ``tol``,
    or the error broke down.

    ``"change"`` also asks the iterate to have stopped moving, relative change at most
    ``sqrt(tol)``: an error that no longer changes while the iterate still does (a cycle such
    as ``z -> 1 - z``, or a drift along a level set) is not convergence. Near a minimum the
    error moves with the square of the iterate's step, so ``sqrt(tol)`` asks no more than
    the error test already does there.
    """
    if criterion == "value":
        measure = err < tol
    else:
        measure = (jnp.abs(err_prev - err) < tol) & (step_size <= jnp.sqrt(tol))
    return measure | ~jnp.isfinite(err)


def _sq_norm(tree) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return sum(
        (
            jnp.sum(jnp.abs(a) ** 2)
            for a in leaves
            if jnp.issubdtype(jnp.result_type(a), jnp.inexact)
        ),
        jnp.zeros(()),
    )


def _relative_step(new, old, dtype, floor_sq=0.0):
    """``||new - old|| / max(||new||, floor)`` over the floating leaves of two pytrees (0 when
    both are zero)."""
    pairs = [
        (a, b)
        for a, b in zip(jax.tree_util.tree_leaves(new), jax.tree_util.tree_leaves(old), strict=True)
        if jnp.issubdtype(jnp.result_type(a), jnp.inexact)
    ]
    if not pairs:
        return jnp.zeros((), dtype)
    # One reduction per leaf for both sums (squared change, squared entries): XLA:CPU
    # compiles one kernel per leaf, not two (each split again into a tree of partial sums).
    # Leaves are not concatenated: a sharded leaf would be gathered for it.
    sums = [
        jnp.sum(jnp.stack([jnp.abs(a - b) ** 2, jnp.abs(a) ** 2]), axis=tuple(range(1, a.ndim + 1)))
        for a, b in pairs
    ]
    diff, size = sum(sums[1:], sums[0])
    size = jnp.maximum(size, floor_sq)
    tiny = jnp.finfo(dtype).tiny
    return jnp.sqrt(diff / jnp.maximum(size, tiny)).astype(dtype)


def _select(pred, new, old):
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, b, a), new, old)


def _closure_convert(fun: Callable, *example_args: Any) -> tuple[Callable, list]:
    """``fun`` with every value it closes over made an explicit trailing argument.

    ``jax.closure_convert`` hoists the values a derivative may flow to; the integer and
    boolean tracers it leaves inside (an index array argument of an enclosing ``jit``) are
    then hoisted from the converted function's jaxpr: a custom VJP that captured such a
    tracer failed to lower once the ``jit`` was differentiated from outside ("No constant
    handler for type: DynamicJaxprTracer")."""
    converted, consts = jax.closure_convert(fun, *example_args)
    consts = list(consts)
    closed, out_shape = jax.make_jaxpr(converted, return_shape=True)(*example_args, *consts)
    lift = [
        isinstance(c, jax.core.Tracer) and not jnp.issubdtype(c.dtype, jnp.inexact)
        for c in closed.consts
    ]
    if not any(lift):
        return converted, consts
    kept = [c for c, up in zip(closed.consts, lift, strict=True) if not up]
    out_tree = jax.tree.structure(out_shape)
    n_in = len(example_args) + len(consts)

    def lifted(*args_and_consts):
        args, hoisted = args_and_consts[:n_in], iter(args_and_consts[n_in:])
        kept_iter = iter(kept)
        every = [next(hoisted) if up else next(kept_iter) for up in lift]
        out = jax.core.eval_jaxpr(closed.jaxpr, every, *jax.tree.leaves(args))
        return jax.tree.unflatten(out_tree, out)

    return lifted, consts + [c for c, up in zip(closed.consts, lift, strict=True) if up]


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
    watch: Callable[[Z], Any] | None = None,
) -> tuple[Z, SolverInfo]:
    """Run a fixed-point iteration to convergence.

    Args:
        step: ``step(z, params) -> (z_next, error)``, ``error`` a scalar that measures the
            quality of ``z_next`` (e.g. relative reconstruction error).
        z0: initial iterate (pytree).
        params: pytree the result is differentiated with respect to (the data).
        maxiter: maximum number of steps (static, at least 1).
        tol: with ``criterion="change"`` stop when ``|error_k - error_{k-1}| < tol`` and the
            iterate's relative change ``||z_k - z_{k-1}|| / ||z_k||`` is at most
            ``sqrt(tol)`` (so a cycle never counts as converged); with ``criterion="value"``
            when ``error_k < tol`` (traced); ``tol=0`` runs all steps.
        diff: ``"implicit"`` or ``"unroll"``; see the module docstring.
        criterion: ``"change"`` (default) or ``"value"``.
        implicit: with ``diff="implicit"``, the function ``(z, params) -> z`` that attaches
            gradients to the converged iterate. Default:
            ``implicit_fixed_point(step_without_error, z, params)``. Solvers whose state
            carries more than the fixed point (momentum, a penalty schedule) pass their own.
        watch: with ``criterion="change"``, the part of the state whose relative change is
            tested, e.g. ``lambda s: s[0]`` for a state ``(x, damping)`` (default: the whole
            state). Its change is measured against ``max(||watch(z_k)||, ||watch(z0)||)``,
            so an iterate converging to zero still stops.

    Returns:
        ``(z, info)``. ``info.converged`` is True when the test was met within ``maxiter``
        steps with a finite error. ``info`` is a diagnostic and is not differentiated.
    """
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    criterion = _checks.choice("criterion", criterion, ("change", "value"))
    leaves = jax.tree_util.tree_leaves(z0)
    if not leaves:
        raise ValueError(f"`z0` must hold at least one array, got {z0!r}.")
    if _checks.is_concrete(tol) and not float(tol) >= 0:
        raise ValueError(f"`tol` must be non-negative, got {tol!r}.")
    dtype = jnp.result_type(*leaves)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    dtype = jnp.finfo(dtype).dtype  # the real dtype of a complex iterate
    tol = jnp.asarray(tol, dtype=dtype)

    def fresh():  # created inside each traced function: custom VJPs must not capture tracers
        return jnp.full((maxiter,), jnp.nan, dtype=dtype), jnp.array(jnp.inf, dtype=dtype)

    watched = watch if watch is not None else (lambda z: z)

    def floor(z0):  # computed inside each traced function (custom VJPs capture no tracer)
        return lax.stop_gradient(_sq_norm(watched(z0))).astype(dtype)

    def moved(z_new, z, floor_sq):
        return _relative_step(watched(z_new), watched(z), dtype, floor_sq)

    # Values that `step` closes over (e.g. a norm of the data) become explicit arguments, so
    # that custom VJPs can differentiate with respect to them and never capture a tracer.
    step_c, consts = _closure_convert(step, z0, params)

    def run_while(z0, params, consts, tol):
        history0, inf = fresh()
        floor_sq = floor(z0)

        def cond(carry):
            _, err, err_prev, dz, k, _ = carry
            return (k < maxiter) & ~((k > 0) & _stop(err, err_prev, dz, tol, criterion))

        def while_body(carry):
            z, err, _, _, k, hist = carry
            z_new, err_new = step_c(z, params, *consts)
            err_new = jnp.asarray(err_new, dtype)
            dz = moved(z_new, z, floor_sq) if criterion == "change" else inf
            return z_new, err_new, err, dz, k + 1, hist.at[k].set(err_new)

        carry0 = (z0, inf, inf, inf, jnp.array(0, jnp.int32), history0)
        z, err, err_prev, dz, n_iter, history = lax.while_loop(cond, while_body, carry0)
        done = (n_iter > 0) & _stop(err, err_prev, dz, tol, criterion)
        return z, err, n_iter, done, history

    def run_scan(z0, params, consts, tol):
        """The same iterations as ``run_while``, as a reverse-differentiable scan."""
        history0, inf = fresh()
        floor_sq = floor(z0)

        def run_step(z, err_prev):
            z_new, err = step_c(z, params, *consts)
            # The error and the step size are diagnostics: no gradient flows through them (a
            # norm at zero change would otherwise turn a zero cotangent into NaN).
            dz = moved(z_new, z, floor_sq) if criterion == "change" else inf
            return z_new, lax.stop_gradient(jnp.asarray(err, dtype)), lax.stop_gradient(dz)

        def skip_step(z, err_prev):
            return z, err_prev, inf

        def scan_body(carry, _):
            z, err_prev, k, done, hist = carry
            z_new, err, dz = lax.cond(done, skip_step, run_step, z, err_prev)
            active = ~done
            z = _select(done, z_new, z)
            hist = hist.at[k].set(jnp.where(active, err, hist[k]))
            err_now = jnp.where(active, err, err_prev)  # the last error once stopped
            k = k + active.astype(k.dtype)
            done = done | (active & _stop(err, err_prev, dz, tol, criterion))
            return (z, err_now, k, done, hist), None

        carry0 = (z0, inf, jnp.array(0, jnp.int32), jnp.array(False), history0)
        (z, err, n_iter, done, history), _ = lax.scan(scan_body, carry0, None, length=maxiter)
        return z, err, n_iter, done, history

    if diff == "unroll":
        # Forward: the while loop (stops early, also under vmap). Reverse: the VJP of the
        # equivalent scan, recomputed from the inputs, so the forward pass never pays for
        # maxiter steps and memory is spent only when a gradient is asked for.
        @jax.custom_vjp
        def solve(z0, params, consts, tol):
            return run_while(z0, params, consts, tol)

        def solve_fwd(z0, params, consts, tol):
            return run_while(z0, params, consts, tol), (z0, params, consts, tol)

        def solve_bwd(res, cotangent):
            _, vjp = jax.vjp(run_scan, *res)
            return vjp(cotangent)

        solve.defvjp(solve_fwd, solve_bwd)
        z, err, n_iter, done, history = solve(z0, params, consts, tol)
    else:
        stop = lambda tree: jax.tree_util.tree_map(lax.stop_gradient, tree)
        z, err, n_iter, done, history = run_while(stop(z0), stop(params), stop(consts), tol)
        if implicit is None:
            z = implicit_fixed_point(
                lambda zz, pc: step_c(zz, pc[0], *pc[1])[0], z, (params, consts)
            )
        else:
            z = implicit(z, params)

    converged = done & jnp.isfinite(err)
    info = SolverInfo(n_iter=n_iter, error=err, converged=converged, history=history)
    return z, info
