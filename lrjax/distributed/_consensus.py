"""Decentralized low-rank matrix factorization: DGD+LOCAL (Zhu, Li, Yang, Tang & Wakin) and
plain decentralized gradient descent, agents on a ring or a 2-D torus of devices."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from .. import _checks, _random
from .._sharding import partitioned
from ._layout import Layout, layout_of, require_sharded


class ConsensusResult(NamedTuple):
    """Result of :func:`dgd_local`.

    Attributes:
        u: ``(J, m, r)``, every agent's copy of the shared factor (sharded over the agents).
        v: the other factor, ``(n, r)``: each agent's own rows (sharded over the agents).
        consensus: ``(maxiter // record_every,)``, ``max_j ‖U_j − Ū‖_F / ‖Ū‖_F`` after every
            ``record_every`` iterations (``Ū`` the agents' mean).
        objective: the same points, ``‖Y − Ū Vᵀ‖_F² / ‖Y‖_F²``: the relative fit of the
            consensus factor.
    """

    u: Array
    v: Array
    consensus: Array
    objective: Array


def _neighbours(layout: Layout, topology: str):
    """``[(axes, permutation)]`` of the exchanges, and the weight of each (self included)."""
    axes = layout.axes[1]
    if topology == "ring":
        size = layout.size(axes)
        perms = [
            (axes, [(i, (i + 1) % size) for i in range(size)]),
            (axes, [(i, (i - 1) % size) for i in range(size)]),
        ]
        return perms, 1.0 / 3.0
    perms = []
    for axis in axes:  # torus: both directions along each of the two mesh axes
        size = layout.size((axis,))
        perms += [((axis,), [(i, (i + 1) % size) for i in range(size)]),
                  ((axis,), [(i, (i - 1) % size) for i in range(size)])]  # fmt: skip
    return perms, 1.0 / 5.0


def _mix(u, perms, weight):
    """``Σ_i w_ji U_i``: this agent and its neighbours, equal weights (doubly stochastic)."""
    out = weight * u
    for axes, perm in perms:
        out = out + weight * lax.ppermute(u, axes, perm)
    return out


def _records(u, fit_sq, y_sq, axes):
    mean = lax.pmean(u, axes)
    dev = jnp.sqrt(jnp.sum((u - mean) ** 2)) / jnp.maximum(jnp.sqrt(jnp.sum(mean**2)), 1e-300)
    return lax.pmax(dev, axes), lax.psum(fit_sq, axes) / lax.psum(y_sq, axes)


def _local_run(y_blk, u0, v0, step, *, layout, topology, maxiter, record_every):
    axes = layout.axes[1]
    perms, weight = _neighbours(layout, topology)

    def iteration(_, state):
        u, v = state
        r = u @ v.T - y_blk
        return _mix(u, perms, weight) - step * (r @ v), v - step * (r.T @ u)

    def record(state, _):
        u, v = lax.fori_loop(0, record_every, iteration, state)
        su, sv, sy = lax.stop_gradient((u, v, y_blk))  # diagnostics: not differentiated
        fit = sy - lax.pmean(su, axes) @ sv.T
        dev, obj = _records(su, jnp.sum(fit * fit), jnp.sum(sy * sy), axes)
        return (u, v), (dev, obj)

    (u, v), (dev, obj) = lax.scan(record, (u0[0], v0), None, length=maxiter // record_every)
    return u[None], v, dev, obj


@functools.partial(jax.jit, static_argnames=("layout", "topology", "maxiter", "record_every"))
def _run(y, u0, v0, step, *, layout, topology, maxiter, record_every):
    axes = layout.axes[1]
    entry = axes[0] if len(axes) == 1 else axes
    fn = functools.partial(_local_run, layout=layout, topology=topology, maxiter=maxiter,
                           record_every=record_every)  # fmt: skip
    u, v, dev, obj = jax.shard_map(
        fn, mesh=layout.current_mesh(),
        in_specs=(layout.spec, P(entry, None, None), P(entry, None), P()),
        out_specs=(P(entry, None, None), P(entry, None), P(), P()),
    )(y, u0, v0, step)  # fmt: skip
    return ConsensusResult(u, v, dev, obj)


def _launch(y, u0, v0, step, *, layout, topology, maxiter, record_every):
    axes = layout.axes[1]
    entry = axes[0] if len(axes) == 1 else axes
    specs = lambda shapes, *_: ConsensusResult(P(entry, None, None), P(entry, None), P(), P())
    return partitioned(
        _run, y, u0, v0, jnp.asarray(step, y.dtype), specs=specs, layout=layout,
        topology=topology, maxiter=maxiter, record_every=record_every,
    )  # fmt: skip


def _setup(y, rank, key, step, mesh, spec, topology, maxiter, record_every):
    y = _checks.as_array("y", y, ndim=2)
    layout = layout_of("y", y, mesh, spec)
    require_sharded(layout, "y", only=(1,), what="decentralized factorization (columns)")
    topology = _checks.choice("topology", topology, ("ring", "torus"))
    agents = layout.size(layout.axes[1])
    if topology == "ring" and agents < 3:
        raise ValueError(f"a ring needs at least 3 agents, got {agents}.")
    if topology == "torus" and len(layout.axes[1]) != 2:
        raise ValueError(
            "`topology='torus'` needs the columns of `y` split over two mesh axes, got "
            f"{layout.axes[1]}."
        )
    rank = _checks.positive_int("rank", rank)
    key = _checks.prng_key("key", key)
    _checks.positive("step", step)
    maxiter = _checks.positive_int("maxiter", maxiter)
    record_every = _checks.positive_int("record_every", record_every)
    if maxiter % record_every:
        raise ValueError(
            f"`maxiter` ({maxiter}) must be a multiple of `record_every` ({record_every})."
        )
    return y, layout, agents, rank, key, topology


def dgd_local(
    y: Float[Array, "m n"],
    rank: int,
    *,
    key: jax.Array,
    step: float,
    maxiter: int,
    topology: str = "ring",
    record_every: int = 100,
    init_scale: float = 0.1,
    mesh=None,
    spec=None,
) -> ConsensusResult:
    r"""Decentralized low-rank factorization with exact consensus (DGD+LOCAL).

    Agent ``j`` (one device) holds the columns ``Y_j`` of ``Y ≈ U Vᵀ``, its own copy ``U_j``
    of the shared factor and its own rows ``V_j`` of the other one, and iterates

    .. math:: U_j \leftarrow \sum_i w_{ji} U_i - \mu (U_j V_j^\top - Y_j) V_j, \qquad
       V_j \leftarrow V_j - \mu (U_j V_j^\top - Y_j)^\top U_j,

    with equal weights over itself and its neighbours on a ring (``ppermute`` both ways along
    the agents' axis, ``w = 1/3``) or a 2-D torus (both ways along each of two mesh axes,
    ``w = 1/5``). This is gradient descent on ``Σ_j ½‖U_j V_jᵀ − Y_j‖² + (1/4μ) Σ_{ij} w_ij
    ‖U_i − U_j‖²``; Zhu et al. show its second-order stationary points have ``U_i = U_j``
    exactly and are global minimisers of the centralized problem, so the copies agree to
    machine precision with a *constant* step (plain DGD, :func:`dgd`, does not).

    **Bytes moved per iteration:** each agent sends ``U_j`` to each neighbour: ``b m r`` per
    exchange, 2 exchanges on a ring and 4 on a torus.

    Args:
        y: ``(m, n)`` matrix with its columns split over the agents (or ``mesh``/``spec``).
        rank: ``r`` (static).
        key: PRNG key of the random start (each agent its own ``U_j`` and ``V_j``).
        step: ``μ``.
        maxiter: iterations (static), a multiple of ``record_every``.
        topology: ``"ring"`` (columns split over any mesh axes, agents in their linear
            order) or ``"torus"`` (columns split over exactly two mesh axes).
        record_every: iterations between recorded consensus errors (static).
        init_scale: standard deviation of the random start.
        mesh, spec: the layout, when ``y`` does not carry it.

    Returns:
        :class:`ConsensusResult`.

    Raises:
        ValueError: for rows split across devices, a ring of fewer than 3 agents, a torus
            without two axes, or bad options.

    References:
        Z. Zhu, Q. Li, X. Yang, G. Tang, M. B. Wakin, "Distributed low-rank matrix
        factorization with exact consensus", NeurIPS 2019 (DGD+LOCAL).
    """
    y, layout, agents, rank, key, topology = _setup(
        y, rank, key, step, mesh, spec, topology, maxiter, record_every
    )
    ku, kv = jax.random.split(key)
    u0 = init_scale * _random.normal(ku, (agents, y.shape[0], rank), y.dtype)
    v0 = init_scale * _random.normal(kv, (y.shape[1], rank), y.dtype)
    return _launch(y, u0, v0, step, layout=layout, topology=topology, maxiter=maxiter,
                   record_every=record_every)  # fmt: skip


class DGDResult(NamedTuple):
    """Result of :func:`dgd`: every agent's iterate ``x`` (leading axis: the agents, sharded
    over them) and ``consensus``, ``max_j ‖x_j − x̄‖ / ‖x̄‖`` after every ``record_every``
    iterations."""

    x: Any
    consensus: Array


def _dgd_local(x0, data, step, *, grad, perms, weight, axes, maxiter, record_every):
    x0 = jax.tree.map(lambda a: a[0], x0)
    data = jax.tree.map(lambda a: a[0], data)

    def iteration(_, x):
        g = grad(x, data)
        return jax.tree.map(lambda a, b: _mix(a, perms, weight) - step * b, x, g)

    def record(x, _):
        x = lax.fori_loop(0, record_every, iteration, x)
        leaves = jax.tree.leaves(lax.stop_gradient(x))  # diagnostics: not differentiated
        mean = [lax.pmean(a, axes) for a in leaves]
        dev = jnp.sqrt(sum(jnp.sum((a - b) ** 2) for a, b in zip(leaves, mean, strict=True)))
        size = jnp.sqrt(sum(jnp.sum(b**2) for b in mean))
        return x, lax.pmax(dev / jnp.maximum(size, 1e-300), axes)

    x, dev = lax.scan(record, x0, None, length=maxiter // record_every)
    return jax.tree.map(lambda a: a[None], x), dev


@functools.partial(
    jax.jit, static_argnames=("grad", "layout", "topology", "maxiter", "record_every")
)
def _dgd(x0, data, step, *, grad, layout, topology, maxiter, record_every):
    perms, weight = _neighbours(layout, topology)
    axes = layout.axes[1]
    entry = axes[0] if len(axes) == 1 else axes
    agent = lambda tree: jax.tree.map(lambda a: P(entry, *([None] * (a.ndim - 1))), tree)
    fn = functools.partial(_dgd_local, grad=grad, perms=perms, weight=weight, axes=axes,
                           maxiter=maxiter, record_every=record_every)  # fmt: skip
    x, dev = jax.shard_map(
        fn, mesh=layout.current_mesh(), in_specs=(agent(x0), agent(data), P()),
        out_specs=(agent(x0), P()),
    )(x0, data, step)  # fmt: skip
    return DGDResult(x, dev)


def dgd(
    grad: Callable[[Any, Any], Any],
    x0: Any,
    data: Any,
    *,
    step: float,
    maxiter: int,
    mesh,
    axes,
    topology: str = "ring",
    record_every: int = 100,
) -> DGDResult:
    r"""Plain decentralized gradient descent (Nedić & Ozdaglar 2009): agent ``j`` keeps its
    own copy ``x_j`` of *all* the variables and iterates

    .. math:: x_j \leftarrow \sum_i w_{ji} x_i - \mu \nabla f_j(x_j)

    on a ring or a 2-D torus of devices (weights as :func:`dgd_local`). With a constant step
    its fixed points are not consensual when the local minimisers differ: the copies keep a
    gap of order ``μ`` (Yuan, Ling & Yin 2016). :func:`dgd_local`, which keeps the variables
    that only one agent's data touch local, reaches exact consensus on low-rank
    factorization; ``docs/results/distributed.md`` puts the two side by side.

    **Bytes moved per iteration:** ``b |x|`` per exchange (2 on a ring, 4 on a torus).

    Args:
        grad: ``grad(x_j, data_j) -> ∇f_j(x_j)`` (static, hashable), a pytree like ``x_j``.
        x0: every agent's start, a pytree whose leaves have a leading axis of size ``J``.
        data: every agent's data, a pytree with the same leading axis.
        step: ``μ``.
        maxiter: iterations (static), a multiple of ``record_every``.
        mesh: the device mesh; ``axes``: the mesh axis (ring) or two axes (ring over both,
            or torus) that index the agents, ``J`` their total size.
        topology: ``"ring"`` or ``"torus"``.
        record_every: iterations between recorded consensus errors (static).

    Returns:
        :class:`DGDResult`.

    Raises:
        ValueError: for leaves without the agents' leading axis, or bad options.

    References:
        A. Nedić and A. Ozdaglar, "Distributed subgradient methods for multi-agent
        optimization", IEEE TAC 54(1), 2009. K. Yuan, Q. Ling, W. Yin, "On the convergence of
        decentralized gradient descent", SIAM J. Optim. 26(3), 2016.
    """
    axes = (axes,) if isinstance(axes, str) else tuple(axes)
    agents = 1
    for a in axes:
        if a not in mesh.axis_names:
            raise ValueError(f"`axes` names {a!r}, which `mesh` (axes {mesh.axis_names}) lacks.")
        agents *= dict(zip(mesh.axis_names, mesh.axis_sizes, strict=True))[a]
    layout = Layout(mesh, ((), axes))
    topology = _checks.choice("topology", topology, ("ring", "torus"))
    if topology == "ring" and agents < 3:
        raise ValueError(f"a ring needs at least 3 agents, got {agents}.")
    if topology == "torus" and len(axes) != 2:
        raise ValueError(f"`topology='torus'` needs two mesh axes in `axes`, got {axes}.")
    for name, tree in (("x0", x0), ("data", data)):
        for leaf in jax.tree.leaves(tree):
            if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != agents:
                raise ValueError(
                    f"every leaf of `{name}` must have a leading axis of the {agents} agents, "
                    f"got shape {jnp.shape(leaf)}."
                )
    _checks.floating_tree("x0", x0)
    _checks.positive("step", step)
    maxiter = _checks.positive_int("maxiter", maxiter)
    record_every = _checks.positive_int("record_every", record_every)
    if maxiter % record_every:
        raise ValueError(
            f"`maxiter` ({maxiter}) must be a multiple of `record_every` ({record_every})."
        )
    dtype = jnp.result_type(*jax.tree.leaves(x0))
    entry = axes[0] if len(axes) == 1 else axes

    def place(tree):  # concrete inputs go to their agents (traced ones are the caller's)
        def put(a):
            if not _checks.is_concrete(a):
                return a
            return jax.device_put(a, NamedSharding(mesh, P(entry, *([None] * (jnp.ndim(a) - 1)))))

        return jax.tree.map(put, tree)

    x0, data = place(x0), place(data)
    return _dgd(x0, data, jnp.asarray(step, dtype), grad=grad, layout=layout, topology=topology,
                maxiter=maxiter, record_every=record_every)  # fmt: skip
