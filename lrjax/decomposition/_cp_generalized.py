"""Generalized CP (GCP): CP fitted under losses other than least squares."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from ..solvers._loop import iterate
from ._common import canonical_cp, dense_cp, scale_into_last
from ._cp import CPResult

__all__ = ["cp_generalized"]

_EPS = 1e-10


def _huber(x, m, delta):
    r = jnp.abs(x - m)
    return jnp.where(r <= delta, r * r, 2 * delta * r - delta * delta)


# name -> (elementwise loss f(x, m, param), model bounded below by 0)
_LOSSES: dict[str, tuple[Callable, bool]] = {
    "normal": (lambda x, m, p: (x - m) ** 2, False),
    "huber": (_huber, False),
    "bernoulli-odds": (lambda x, m, p: jnp.log1p(m) - x * jnp.log(m + _EPS), True),
    "bernoulli-logit": (lambda x, m, p: jnp.logaddexp(0.0, m) - x * m, False),
    "poisson": (lambda x, m, p: m - x * jnp.log(m + _EPS), True),
    "poisson-log": (lambda x, m, p: jnp.exp(m) - x * m, False),
    "gamma": (lambda x, m, p: x / (m + _EPS) + jnp.log(m + _EPS), True),
    "rayleigh": (
        lambda x, m, p: 2 * jnp.log(m + _EPS) + (math.pi / 4) * (x / (m + _EPS)) ** 2,
        True,
    ),
}

GCP_LOSSES: tuple[str, ...] = tuple(_LOSSES)  # the names cp_generalized takes


def _project_nonneg(tree, hyper=None, scaling=1.0):
    return jax.tree_util.tree_map(lambda a: jnp.maximum(a, 0.0), tree)


def _identity(tree, hyper=None, scaling=1.0):
    return tree


def _xlogx(x):
    return jnp.where(x > 0, x * jnp.log(jnp.where(x > 0, x, 1.0)), 0.0)


# the smallest value of each loss over m for one datum (the saturated model), subtracted while
# fitting: the deviance it leaves is small near a good fit, where the plain likelihood's large
# terms cancel and float32 rounding would swamp the step-size test
_FLOOR: dict[str, Callable] = {
    "poisson": lambda x, p: x - _xlogx(x),
    "poisson-log": lambda x, p: x - _xlogx(x),
    "gamma": lambda x, p: 1.0 + jnp.log(x),
    "rayleigh": lambda x, p: 2 * jnp.log(jnp.sqrt(math.pi) / 2 * x) + 1.0,
}


def _objective(factors, x, w, param, *, loss, deviance=False):
    f = _LOSSES[loss][0] if isinstance(loss, str) else loss
    m = dense_cp(factors)
    values = f(x, m, param)
    if deviance and isinstance(loss, str) and loss in _FLOOR:
        values = values - _FLOOR[loss](x, param)
    return jnp.sum(w * values) / jnp.maximum(jnp.sum(w), 1.0)


def _tree_sub(a, b):
    return jax.tree_util.tree_map(jnp.subtract, a, b)


def _tree_dot(a, b):
    pairs = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    return sum(jnp.vdot(u, v) for u, v in pairs)


def _fista_step(fun, project, state, data):
    """One FISTA step with backtracking that may also lower ``L`` (each step starts from
    ``L / 2``: the curvature of a likelihood changes by orders of magnitude along the path,
    and a ``L`` that only grows stalls the iteration), the sufficient-decrease test with a
    rounding slack and non-finite values rejected, and a function-value restart."""
    x, y, t, lip, f_x = state
    sg = jax.lax.stop_gradient
    f_y, g_y = jax.value_and_grad(fun)(sg(y), *data)

    def candidate(lip):
        return project(jax.tree_util.tree_map(lambda a, b: a - b / lip, sg(y), g_y))

    def too_small(carry):
        lip, j = carry
        z = candidate(lip)
        d = _tree_sub(z, sg(y))
        bound = f_y + _tree_dot(g_y, d) + 0.5 * lip * _tree_dot(d, d)
        value = fun(z, *data)
        slack = 10 * jnp.finfo(value.dtype).eps * jnp.abs(f_y)
        return ~(value <= bound + slack) & (j < 60)

    lip, _ = jax.lax.while_loop(
        too_small, lambda c: (2.0 * c[0], c[1] + 1), (jnp.maximum(sg(lip) / 2, 1e-12), 0)
    )
    grad_y = jax.grad(fun)(y, *data)  # differentiable in y and the data, L held fixed
    x_new = project(jax.tree_util.tree_map(lambda a, b: a - b / lip, y, grad_y))
    f_new = fun(x_new, *data)
    restart = f_new > f_x
    t_new = jnp.where(restart, 1.0, 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t)))
    beta = jnp.where(restart, 0.0, (t - 1.0) / t_new)
    # the extrapolated point is projected too: outside the bound the likelihood is undefined
    y_new = project(jax.tree_util.tree_map(lambda a, b: a + beta * (a - b), x_new, x))
    return (x_new, y_new, t_new, lip, f_new), f_new


@functools.partial(jax.jit, static_argnames=("loss", "nonneg", "maxiter"))
def _cp_generalized(x, w, factors0, param, tol, *, loss, nonneg, maxiter):
    fun = functools.partial(_objective, loss=loss, deviance=True)
    project = _project_nonneg if nonneg else _identity
    one = jnp.ones((), x.dtype)
    state0 = (factors0, factors0, one, one, fun(factors0, x, w, param))
    step = functools.partial(_fista_step, fun, project)
    state, info = iterate(
        step, state0, (x, w, param), maxiter=maxiter, tol=tol, diff="unroll",
        watch=lambda s: s[0],
    )  # fmt: skip
    cp = canonical_cp(scale_into_last(state[0]))
    value = _objective(state[0], x, w, param, loss=loss)
    info = info._replace(error=value, converged=info.converged & jnp.isfinite(value))
    return CPResult(cp, info)


def _start(x, w, key, rank, nonneg, small):
    """Uniform (non-negative losses) or normal factors, scaled so that the model's
    root-mean-square matches the observed data's (never below 1e-2), or is 0.1 for the
    log-link losses (``small``), whose model is a log-rate or a logit."""
    keys = jax.random.split(key, x.ndim)
    if nonneg:
        factors = [_random.uniform(k, (n, rank), x.dtype, 0.1, 1.0) for k, n in
                   zip(keys, x.shape, strict=True)]  # fmt: skip
    else:
        factors = [_random.normal(k, (n, rank), x.dtype) for k, n in
                   zip(keys, x.shape, strict=True)]  # fmt: skip
    model = dense_cp(factors)
    target = jnp.sqrt(jnp.sum(w * x * x) / jnp.maximum(jnp.sum(w), 1.0))
    current = jnp.sqrt(jnp.mean(model * model))
    target = jnp.full_like(target, 0.1) if small else jnp.maximum(target, 1e-2)
    scale = target / jnp.maximum(current, jnp.finfo(x.dtype).tiny)
    per_mode = scale ** (1.0 / x.ndim)
    return tuple(f * per_mode for f in factors)


def cp_generalized(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    loss: str | Callable = "normal",
    nonneg: bool | None = None,
    key: Array | None = None,
    init: str | tuple = "random",
    mask: Array | None = None,
    param: float | Array = 1.0,
    maxiter: int = 1000,
    tol: float | Array = 1e-8,
) -> CPResult:
    r"""Generalized CP decomposition (GCP): a CP model fitted under a loss other than least
    squares.

    .. math:: \min_{A_0, \dots, A_{N-1}} \frac{1}{|\Omega|} \sum_{i \in \Omega}
       f\big(x_i, m_i\big), \qquad \mathcal M = [\![A_0, \dots, A_{N-1}]\!]

    with :math:`f` the negative log-likelihood of the data's distribution given the model
    (Hong, Kolda & Duersch 2020, Table 1; the Tensor Toolbox's ``gcp_opt`` types):

    ============== ========================================== ============= =========
    ``loss``        :math:`f(x, m)`                            data          model
    ============== ========================================== ============= =========
    normal          :math:`(x - m)^2`                          real          real
    huber           Huber of ``x - m`` with ``δ = param``      real          real
    bernoulli-odds  :math:`\log(m + 1) - x \log m`             0/1           m >= 0
    bernoulli-logit :math:`\log(1 + e^m) - x m`                0/1           real
    poisson         :math:`m - x \log m`                       counts        m >= 0
    poisson-log     :math:`e^m - x m`                          counts        real
    gamma           :math:`x / m + \log m`                     positive      m >= 0
    rayleigh        :math:`2 \log m + \tfrac{\pi}{4} (x/m)^2`  positive      m >= 0
    ============== ========================================== ============= =========

    (``log m`` is ``log(m + 1e-10)``.) All factors are fitted at once by FISTA (backtracking
    that may raise or lower the step size, function-value restart) on the deviance (the loss
    minus its per-datum minimum, which keeps float32 steps accurate near a fit), projected
    on ``A_n >= 0`` for the losses whose model is non-negative (the Tensor Toolbox uses
    L-BFGS-B with the same bound). Any other elementwise loss works too: pass a function
    ``f(x, m, param)`` and say whether the model must be non-negative. Missing entries are
    left out with ``mask`` (weights in [0, 1]). Derivatives unroll the iterations.

    Args:
        x: tensor with ``N >= 2`` modes (counts, binary or positive data as ``loss`` needs).
        rank: number of components (static).
        loss: a name from the table or a function ``f(x, m, param)`` (static).
        nonneg: keep the factors non-negative; default: as the named loss needs (``False``
            for a function).
        key: PRNG key of the random start (required unless ``init`` is factors).
        init: ``"random"`` (uniform for non-negative models, normal otherwise, scaled to the
            data's root-mean-square, or to 0.1 for the log-link losses) or a tuple of ``N``
            factor matrices ``(I_n, rank)``.
        mask: 1 where ``x`` is observed, 0 where missing (or weights in [0, 1]).
        param: the loss's parameter (Huber's ``δ``; traced).
        maxiter: maximum number of iterations (static).
        tol: stopping tolerance on the change of the mean loss (traced).

    Returns:
        ``CPResult(cp, info)``: ``cp`` in canonical form (unit columns, weights sorted);
        ``info.error`` is the final value of the objective (the mean loss), not a relative
        error.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, an unknown loss, data
            outside the loss's domain (eager: negative counts, non-binary data for the
            Bernoulli losses, non-positive data for gamma and Rayleigh), a bad mask, init
            or option.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> ks = jax.random.split(jax.random.key(0), 3)
        >>> a, b, c = (jax.random.uniform(k, (n, 2)) for k, n in zip(ks, (8, 7, 6)))
        >>> rate = 10 * jnp.einsum("ir,jr,kr->ijk", a, b, c)
        >>> counts = jax.random.poisson(jax.random.key(1), rate).astype(jnp.float32)
        >>> res = cp_generalized(counts, 2, loss="poisson", key=jax.random.key(2))
        >>> bool(jnp.all(res.cp.to_dense() >= 0))
        True

    References:
        D. Hong, T. G. Kolda, J. A. Duersch, "Generalized canonical polyadic tensor
        decomposition", SIAM Review 62(1), 2020. The Tensor Toolbox's ``gcp_opt``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    if isinstance(loss, str):
        loss = _checks.choice("loss", loss, GCP_LOSSES)
        needs_nonneg = _LOSSES[loss][1]
    elif callable(loss):
        needs_nonneg = False
    else:
        raise ValueError(f"`loss` must be one of {GCP_LOSSES} or a function, got {loss!r}.")
    if nonneg is None:
        nonneg = needs_nonneg
    elif not isinstance(nonneg, bool):
        raise ValueError(f"`nonneg` must be True, False or None, got {nonneg!r}.")
    if _checks.is_concrete(x) and isinstance(loss, str):
        _check_domain(loss, x)
    if mask is None:
        w = jnp.ones_like(x)
    else:
        w = _checks.as_array("mask", mask)
        if w.shape != x.shape:
            raise ValueError(f"`mask` must have the shape of `x` {x.shape}, got {w.shape}.")
        if _checks.is_concrete(w) and bool(jnp.any((w < 0) | (w > 1))):
            raise ValueError("`mask` must hold weights in [0, 1].")
    if isinstance(init, str):
        _checks.choice("init", init, ("random",))
        small = loss in ("bernoulli-logit", "poisson-log")
        factors0 = _start(x, w, _checks.prng_key("key", key), rank, nonneg, small)
    elif isinstance(init, tuple | list) and len(init) == x.ndim:
        factors0 = tuple(jnp.asarray(f, x.dtype) for f in init)
        want = tuple((n, rank) for n in x.shape)
        if tuple(f.shape for f in factors0) != want:
            raise ValueError(
                f"`init` factors must have shapes {want}, got {tuple(f.shape for f in factors0)}."
            )
    else:
        raise ValueError(f"`init` must be 'random' or {x.ndim} factor matrices, got {init!r}.")
    param = jnp.asarray(param, x.dtype)
    return _cp_generalized(x, w, factors0, param, tol, loss=loss, nonneg=nonneg, maxiter=maxiter)


def _check_domain(loss: str, x: Array) -> None:
    if loss in ("poisson", "poisson-log") and bool(jnp.any(x < 0)):
        raise ValueError(f"`x` must be non-negative counts for loss={loss!r}.")
    if loss in ("bernoulli-odds", "bernoulli-logit") and bool(jnp.any((x != 0) & (x != 1))):
        raise ValueError(f"`x` must hold only 0 and 1 for loss={loss!r}.")
    if loss in ("gamma", "rayleigh") and bool(jnp.any(x <= 0)):
        raise ValueError(f"`x` must be positive for loss={loss!r}.")
