"""A low-rank large-margin triplet metric (the LMNN-style baseline of metric learning),
trained by gradient descent with optax."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, Int

from .. import _checks
from ..linalg import svd_flip
from ..solvers._info import SolverInfo
from ._common import check_fit, check_triplets, unit_rows


class TripletMetricResult(NamedTuple):
    """Result of :func:`triplet_metric`.

    Attributes:
        transform: ``(D, rank)`` matrix ``L``; embed a sample as ``unit_rows(x) @ transform``.
        info: :class:`SolverInfo`; ``history`` holds the training loss before each step and
            ``error`` the loss after the last.
    """

    transform: Float[Array, "d rank"]
    info: SolverInfo


def triplet_loss(
    transform: Float[Array, "d rank"],
    x: Float[Array, "n d"],
    triplets: Int[Array, "m 3"],
    *,
    margin: float | Array = 1.0,
    pull: float | Array = 0.5,
) -> Array:
    """LMNN-style loss of the embedding ``x @ transform``: the mean hinge
    ``max(0, margin + |y_i - y_j|^2 - |y_i - y_k|^2)`` over the triplets ``(i, j, k)`` plus
    ``pull`` times the mean squared distance ``|y_i - y_j|^2`` to the similar samples."""
    transform = _checks.as_array("transform", transform, ndim=2)
    x = _checks.as_array("x", x, ndim=2)
    if x.shape[1] != transform.shape[0]:
        raise ValueError(
            f"`x` must have {transform.shape[0]} columns (the rows of `transform`), got shape "
            f"{x.shape}."
        )
    triplets = check_triplets(triplets, x.shape[0])
    return _triplet_loss(transform, x, triplets, margin, pull)


def _triplet_loss(transform, x, triplets, margin, pull):
    y = x @ transform
    a, s, d = y[triplets[:, 0]], y[triplets[:, 1]], y[triplets[:, 2]]
    near = jnp.sum((a - s) ** 2, axis=1)
    far = jnp.sum((a - d) ** 2, axis=1)
    return jnp.mean(jnp.maximum(margin + near - far, 0.0)) + pull * jnp.mean(near)


def triplet_metric(
    x: Float[Array, "n d"],
    triplets: Int[Array, "m 3"],
    *,
    rank: int,
    steps: int = 300,
    margin: float | Array = 1.0,
    pull: float | Array = 0.5,
    optimizer: Any = None,
) -> TripletMetricResult:
    """Learn a rank-``rank`` linear embedding by minimising :func:`triplet_loss` with optax.

    The samples are scaled to unit length (as :func:`flrml` does). The transform starts from
    the top ``rank`` right singular vectors of the data, scaled so that the mean squared
    distance of a triplet's dissimilar pair is ``margin``, and takes ``steps`` full-batch
    steps of ``optimizer`` in one compiled scan.

    Args:
        x: ``(n, D)`` training samples.
        triplets: ``(m, 3)`` integer rows ``(anchor, similar, dissimilar)``.
        rank: embedding dimension (static, at most ``min(n, D)``).
        steps: optimizer steps (static).
        margin, pull: the loss's margin and pull weight (traced).
        optimizer: an ``optax.GradientTransformation`` (default ``optax.adam(1e-2)``; needs
            ``optax``, installed with ``lrjax[nn]``).

    Returns:
        A :class:`TripletMetricResult`.
    """
    x, triplets, rank = check_fit(x, triplets, rank)
    steps = _checks.positive_int("steps", steps)
    _checks.positive("margin", margin)
    _checks.nonnegative("pull", pull)
    optimizer = _default_optimizer() if optimizer is None else optimizer
    dtype = x.dtype
    return _triplet_metric(
        x,
        triplets,
        jnp.asarray(margin, dtype),
        jnp.asarray(pull, dtype),
        rank=rank,
        steps=steps,
        optimizer=optimizer,
    )


@functools.cache
def _default_optimizer():
    """``optax.adam(1e-2)``, made once: the optimizer is a static argument of the compiled
    run, so a fresh one per call would recompile every call."""
    try:
        import optax
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "triplet_metric's default optimizer needs optax: pip install 'lrjax[nn]', or "
            "pass `optimizer=`."
        ) from err
    return optax.adam(1e-2)


@functools.partial(jax.jit, static_argnames=("rank", "steps", "optimizer"))
def _triplet_metric(x, triplets, margin, pull, *, rank, steps, optimizer):
    xn = unit_rows(x)
    u, _, vt = jnp.linalg.svd(xn, full_matrices=False)
    _, vt = svd_flip(u, vt)
    l0 = vt[:rank].T
    far = jnp.sum((xn[triplets[:, 0]] @ l0 - xn[triplets[:, 2]] @ l0) ** 2, axis=1)
    l0 = l0 * jnp.sqrt(margin / jnp.maximum(jnp.mean(far), jnp.finfo(x.dtype).tiny))

    def loss(t):
        return _triplet_loss(t, xn, triplets, margin, pull)

    def step(carry, _):
        t, state = carry
        value, grad = jax.value_and_grad(loss)(t)
        updates, state = optimizer.update(grad, state, t)
        return (t + updates, state), value

    (t, _), history = lax.scan(step, (l0, optimizer.init(l0)), None, length=steps)
    final = loss(t)
    ok = jnp.isfinite(final) & jnp.all(jnp.isfinite(t))
    return TripletMetricResult(t, SolverInfo(jnp.array(steps, jnp.int32), final, ok, history))
