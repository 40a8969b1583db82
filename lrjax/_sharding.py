"""Running lrjax's routines on inputs sharded over a mesh with Explicit axes.

With Explicit axes (the default of ``jax.make_mesh`` since JAX 0.7) every operation must be
able to say how its result is sharded, and many of the steps of a decomposition cannot: a
Gram matrix of a row-sharded factor contracts the sharded axis, an unfolding merges a sharded
axis with others, an SVD has no sharding rule at all. Public entry points therefore run their
implementation with the mesh's axes switched to Auto (``jax.sharding.auto_axes``): inside, XLA's
partitioner lays out every intermediate, starting from the input's actual placement, and the
results come back with Explicit shardings stated here:

* a result of the input's shape keeps the input's sharding (low-rank and sparse parts, prox
  outputs, completed matrices);
* a factor (a result with two or more axes) whose axis has the size of a sharded input axis is
  sharded like that axis: the factor of a sharded mode stays sharded on that mode;
* everything else (weights, cores, Gram-sized matrices, ``SolverInfo``) is replicated.

On meshes with Auto axes nothing changes (the partitioner decides everything), and with no
mesh at all the call is the plain one, except that an eager call on CPU compiles its program
with :data:`CPU_COMPILER_OPTIONS` (see :func:`partitioned`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
from jax.sharding import AxisType, PartitionSpec


def _aval_sharding(leaf: Any):
    try:
        return jax.typeof(leaf).sharding
    except (TypeError, AttributeError):
        return None


def explicit_mesh(tree: Any):
    """The (abstract) mesh of the first leaf of ``tree`` sharded over an Explicit axis, or
    None when no leaf is."""
    for leaf in jax.tree.leaves(tree):
        sharding = _aval_sharding(leaf)
        mesh = getattr(sharding, "mesh", None)
        if mesh is None or getattr(mesh, "empty", True):
            continue
        explicit = {n for n, t in zip(mesh.axis_names, mesh.axis_types, strict=True)
                    if t == AxisType.Explicit}  # fmt: skip
        if explicit and any(_axes(entry) & explicit for entry in sharding.spec):
            return mesh
    return None


def _axes(entry) -> set[str]:
    if entry is None:
        return set()
    return {entry} if isinstance(entry, str) else set(entry)


def spec_of(x: Any, ndim: int) -> tuple:
    """The partition spec of ``x``, one entry per axis (None where not sharded)."""
    sharding = _aval_sharding(x)
    spec = tuple(getattr(sharding, "spec", ())) if sharding is not None else ()
    return spec + (None,) * (ndim - len(spec))


def result_specs(shapes: Any, like_shape: tuple, like_spec: tuple) -> Any:
    """Partition specs for every leaf of ``shapes`` (a tree of ``ShapeDtypeStruct``), by the
    rules of this module's docstring."""
    by_size: dict[int, list] = {}
    for size, entry in zip(like_shape, like_spec, strict=True):
        if entry is not None:
            by_size.setdefault(size, []).append(entry)

    def spec(leaf) -> PartitionSpec:
        shape = tuple(leaf.shape)
        if shape == tuple(like_shape):
            return PartitionSpec(*like_spec)
        if len(shape) < 2:
            return PartitionSpec()
        out: list = []
        used: set[str] = set()
        for size in shape:
            entries = by_size.get(size, [])
            entry = entries[0] if len(entries) == 1 else None
            if entry is not None and not (_axes(entry) & used):
                used |= _axes(entry)
                out.append(entry)
            else:
                out.append(None)
        return PartitionSpec(*out)

    return jax.tree.map(spec, shapes)


#: XLA options of the programs lrjax compiles for an eager call on CPU (per program, never a
#: process-wide flag). XLA:CPU's fusion emitters (the default since jaxlib 0.5) take about
#: half of a solver's compile time and gain it nothing at run time (measured with the flag
#: set process-wide: first calls of ``cp_als`` 2.15 -> 1.32 s, ``tucker_hooi`` 3.94 ->
#: 3.09 s, steady state within noise; CP-ALS 200^3: 477 vs 475 ms for 50 sweeps).
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


def is_traced(tree: Any) -> bool:
    """Whether the call is being traced by a transformation: a leaf of ``tree`` is a tracer,
    or the caller is under ``jit`` / ``vmap`` / ``grad`` with concrete arguments (values its
    function closes over). Then the call must stay part of the caller's program: neither a
    top-level program of its own nor a host-side wait."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree)):
        return True
    return _under_transformation()


def _under_transformation() -> bool:
    """Whether a JAX transformation is tracing the current call."""
    if _trace_state_clean is not None:
        return not _trace_state_clean()
    # a JAX without ``trace_state_clean``: an operation on constants is staged under jit
    zero = jax.numpy.int32(0)
    return isinstance(jax.lax.add(zero, zero), jax.core.Tracer)


_trace_state_clean: Callable[[], bool] | None
try:  # JAX's own test of an empty trace stack (no public equivalent; 0.4.36 to 0.10 at least)
    from jax._src.core import trace_state_clean as _trace_state_clean
except ImportError:  # pragma: no cover
    _trace_state_clean = None


def on_cpu(tree: Any) -> bool:
    """Whether the call runs on CPU: the devices of the first ``jax.Array`` leaf of ``tree``,
    else the default backend."""
    for leaf in jax.tree_util.tree_leaves(tree):
        if isinstance(leaf, jax.Array):
            return all(d.platform == "cpu" for d in leaf.devices())
    return jax.default_backend() == "cpu"


@functools.cache
def _cpu_program(impl: Callable[..., Any], static_names: tuple[str, ...]) -> Callable[..., Any]:
    """``impl`` (usually jitted; it is inlined) compiled as one program with
    :data:`CPU_COMPILER_OPTIONS`, its keyword arguments ``static_names`` static."""
    return jax.jit(impl, static_argnames=static_names, compiler_options=CPU_COMPILER_OPTIONS)


def _plain(tree: Any) -> Any:
    def strip(leaf):
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
            return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
        return leaf

    return jax.tree.map(strip, tree)


def partitioned(
    impl: Callable[..., Any], /, *args: Any, like: Any = None, specs: Any = None, **static: Any
) -> Any:
    """``impl(*args, **static)``, run with Auto axes when an argument is sharded over Explicit
    ones (see the module docstring). An eager call on CPU without such a mesh runs ``impl``
    compiled with :data:`CPU_COMPILER_OPTIONS`; a traced call is the plain one (the caller's
    program is compiled as the caller asks).

    Args:
        impl: the implementation (usually a jitted function).
        *args: its array arguments (pytrees).
        like: the array whose shape and sharding define the result's (default: the first
            argument).
        specs: ``specs(result_shapes, like_shape, like_spec)`` for the results' partition
            specs, when the default rules do not fit.
        **static: keyword arguments passed as they are (shapes, options, callables).
    """
    mesh = explicit_mesh(args)
    if mesh is None:
        if not is_traced(args) and on_cpu(args):
            return _cpu_program(impl, tuple(sorted(static)))(*args, **static)
        return impl(*args, **static)
    like = args[0] if like is None else like
    like_shape = tuple(getattr(like, "shape", ()))
    like_spec = spec_of(like, len(like_shape))
    call = lambda *a: impl(*a, **static)
    auto = mesh.abstract_mesh if hasattr(mesh, "abstract_mesh") else mesh
    auto = auto.update_axis_types({name: AxisType.Auto for name in auto.axis_names})
    with jax.sharding.use_abstract_mesh(auto):  # the shapes, traced as the call will run
        shapes = jax.eval_shape(call, *_plain(args))
    out = (specs or result_specs)(shapes, like_shape, like_spec)
    with jax.sharding.use_abstract_mesh(mesh):
        return jax.sharding.auto_axes(call, out_sharding=out)(*args)
