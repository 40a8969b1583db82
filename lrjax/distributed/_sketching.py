"""Decentralized sketching of low-rank matrices (Srinivasa, Lee, Junge & Romberg): every
column sketched by its own random matrix, the matrix recovered by nuclear-norm-regularized
least squares with its columns sharded across devices."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._sharding import partitioned
from ..prox._spectral import prox_nuclear
from ..solvers._proximal_gradient import ProximalGradientResult, proximal_gradient
from ._layout import Layout, layout_of, require_sharded
from ._svd import svt_prox


def sketch_columns(
    x: Float[Array, "d T"], sketch_size: int, *, key: jax.Array
) -> tuple[Float[Array, "T L d"], Float[Array, "T L"]]:
    r"""Sketch every column ``x_t`` of ``x`` with its own Gaussian matrix: ``y_t = A_t x_t``,
    ``A_t`` of shape ``(L, d)`` with i.i.d. ``N(0, 1/L)`` entries (independent across
    columns: each device, sensor or phone draws its own).

    Args:
        x: ``(d, T)`` matrix, one signal per column.
        sketch_size: ``L`` (static).
        key: PRNG key.

    Returns:
        ``(a, y)``: the sketching matrices ``(T, L, d)`` and the sketches ``(T, L)``.

    Raises:
        ValueError: for a non-matrix ``x``, a bad ``sketch_size`` or ``key``.
    """
    x = _checks.as_array("x", x, ndim=2)
    sketch_size = _checks.positive_int("sketch_size", sketch_size)
    key = _checks.prng_key("key", key)
    d, t = x.shape
    a = _random.normal(key, (t, sketch_size, d), x.dtype) / jnp.sqrt(sketch_size)
    return a, jnp.einsum("tld,dt->tl", a, x)


def _data_fit(z, a, y):
    r = jnp.einsum("tld,td->tl", a, z) - y
    return 0.5 * jnp.sum(r * r)


@functools.lru_cache(maxsize=16)
def _prox_for(layout: Layout | None):
    return prox_nuclear if layout is None else svt_prox(layout)


def recover_sketched(
    a: Float[Array, "T L d"],
    y: Float[Array, "T L"],
    *,
    lam: float,
    stages: int = 8,
    maxiter: int = 300,
    tol: float = 1e-10,
    mesh=None,
    spec=None,
) -> ProximalGradientResult:
    r"""Recover a low-rank matrix from column-wise sketches by nuclear-norm-regularized least
    squares:

    .. math:: \hat X = \arg\min_X \tfrac12 \sum_t \|A_t x_t - y_t\|_2^2 + \lambda \|X\|_*

    solved by FISTA (:func:`lrjax.solvers.proximal_gradient`) along a continuation path:
    ``stages`` values of the weight decreasing geometrically from ``‖Σ_t A_tᵀ y_t e_tᵀ‖_2``
    (the smallest weight whose solution is zero) to ``lam``, each warm-started from the
    previous solution (Toh & Yun 2010). The unknown is handled as ``Z = Xᵀ`` (``T x d``).

    When ``a`` and ``y`` are sharded along the columns ``t`` (their leading axis), every
    device computes the gradient of its own columns locally and the thresholding runs through
    TSQR on the row-sharded ``Z`` (:func:`prox_nuclear_rows`): **bytes moved per
    iteration** ``b p d²`` plus a few scalars (the line search's objective values); neither
    the sketches nor ``X`` move.

    Args:
        a: ``(T, L, d)`` sketching matrices; ``y``: ``(T, L)`` sketches
            (:func:`sketch_columns`). Sharded along ``T`` for the distributed solve (every
            device at least ``d`` columns), or on one device.
        lam: the final ``λ > 0``.
        stages: points on the continuation path (static; 1: ``lam`` alone).
        maxiter, tol: per stage, as :func:`lrjax.solvers.proximal_gradient`.
        mesh, spec: ``a``'s layout, when it does not carry it.

    Returns:
        The last stage's ``ProximalGradientResult``; ``x`` is ``Z = X̂ᵀ`` (``T x d``),
        sharded like ``a``.

    Raises:
        ValueError: for inconsistent shapes, ``lam <= 0``, or a layout that splits anything
            but the columns.

    References:
        R. S. Srinivasa, K. Lee, M. Junge, J. Romberg, "Decentralized sketching of low rank
        matrices", NeurIPS 2019. K.-C. Toh and S. Yun, "An accelerated proximal gradient
        algorithm for nuclear norm regularized linear least squares problems", Pacific J.
        Optim. 6(3), 2010.
    """
    a = _checks.as_array("a", a, ndim=3)
    y = _checks.as_array("y", y, ndim=2)
    if y.shape != a.shape[:2]:
        raise ValueError(
            f"`y` must have shape {a.shape[:2]} to match `a` {a.shape}, got {y.shape}."
        )
    _checks.positive("lam", lam)
    stages = _checks.positive_int("stages", stages)
    layout = None
    z0 = jnp.zeros((a.shape[0], a.shape[2]), a.dtype)
    if mesh is not None or _sharded(a):
        found = layout_of("a", a, mesh, spec)
        require_sharded(found, "a", only=(0,), what="recover_sketched (columns)")
        local = a.shape[0] // found.size(found.axes[0])
        if local < a.shape[2]:
            raise ValueError(
                f"each device holds {local} columns, fewer than d = {a.shape[2]}: the TSQR "
                "thresholding needs at least d columns per device."
            )
        layout = Layout(found.mesh, (found.axes[0], ()))
        if isinstance(found.mesh, jax.sharding.Mesh):
            z0 = jax.device_put(z0, jax.sharding.NamedSharding(found.mesh, layout.spec))
    top = partitioned(_top, a, y)
    lams = jnp.geomspace(1.0, 0.0 + lam / jnp.maximum(top, lam), stages) * jnp.maximum(top, lam)
    prox = _prox_for(layout)
    res = None
    for k in range(stages):
        res = proximal_gradient(
            _data_fit, z0 if res is None else res.x, (a, y), prox=prox,
            hyperparams_prox=lams[k], maxiter=maxiter, tol=tol,
        )  # fmt: skip
    assert res is not None
    return res


@jax.jit
def _top(a, y):
    """``‖Σ_t A_tᵀ y_t e_tᵀ‖_2``, the spectral norm of the data fit's gradient at zero (via
    its ``d x d`` Gram, so that a column-sharded ``a`` only all-reduces ``d²`` numbers)."""
    g = jnp.einsum("tld,tl->td", a, y)
    return jnp.sqrt(jnp.max(jnp.linalg.eigvalsh(g.T @ g)))


def _sharded(a) -> bool:
    sharding = getattr(a, "sharding", None)
    spec = getattr(sharding, "spec", None)
    return spec is not None and any(e is not None for e in spec)
