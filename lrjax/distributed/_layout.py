"""Where a sharded input lives: its mesh, which mesh axes split which of its dimensions, and
the checks that the algorithm can use that layout."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
from jax.sharding import NamedSharding, PartitionSpec


@dataclasses.dataclass(frozen=True)
class Layout:
    """A mesh and, per dimension of the input, the tuple of mesh axes that split it.

    Hashable, so that it can be a static argument of a jitted implementation.
    """

    mesh: Any
    axes: tuple[tuple[str, ...], ...]

    @property
    def spec(self) -> PartitionSpec:
        return PartitionSpec(*(_entry(a) for a in self.axes))

    def dim_spec(self, dims: Sequence[int | None]) -> PartitionSpec:
        """The spec of an array whose axes are the input's dimensions ``dims`` (None for a
        new, unsharded axis)."""
        return PartitionSpec(*(None if d is None else _entry(self.axes[d]) for d in dims))

    @property
    def used(self) -> tuple[str, ...]:
        """Every mesh axis that splits some dimension."""
        return tuple(a for axes in self.axes for a in axes)

    def size(self, axes: Sequence[str]) -> int:
        shape = dict(zip(self.mesh.axis_names, self.mesh.axis_sizes, strict=True))
        out = 1
        for a in axes:
            out *= shape[a]
        return out

    def current_mesh(self):
        """The mesh for ``shard_map``: the context's abstract mesh when one is set (inside
        ``auto_axes`` or ``jax.set_mesh``), else this layout's."""
        context = jax.sharding.get_abstract_mesh()
        if not context.empty and tuple(context.axis_names) == tuple(self.mesh.axis_names):
            return context
        return self.mesh


def _entry(axes: tuple[str, ...]):
    if not axes:
        return None
    return axes[0] if len(axes) == 1 else tuple(axes)


def _normalise(entry) -> tuple[str, ...]:
    if entry is None:
        return ()
    if isinstance(entry, str):
        return (entry,)
    return tuple(entry)


def layout_of(name: str, x: Any, mesh: Any = None, spec: Any = None) -> Layout:
    """The layout of ``x``: from ``mesh`` and ``spec`` when given, else from ``x``'s own
    ``NamedSharding`` (a concrete array, or a traced one on a mesh with Explicit axes).

    Raises:
        ValueError: naming ``x``, ``mesh`` or ``spec`` when the layout cannot be known, a
            mesh axis is unknown or used twice, or a sharded dimension is not divisible by
            its mesh axes' size.
    """
    ndim = len(x.shape)
    if mesh is None or spec is None:
        sharding = getattr(x, "sharding", None) if not isinstance(x, jax.core.Tracer) else None
        if not isinstance(sharding, NamedSharding):
            try:
                sharding = jax.typeof(x).sharding
            except TypeError:
                sharding = None
        found = getattr(sharding, "mesh", None)
        found_spec = tuple(getattr(sharding, "spec", ()))
        if found is None or found.empty or not any(_normalise(e) for e in found_spec):
            raise ValueError(
                f"`{name}` must be sharded over a mesh: jax.device_put it with a "
                "NamedSharding, or pass `mesh` and `spec` (inside jit on a mesh with Auto "
                "axes the layout is not part of the type); got no sharded dimension."
            )
        mesh = found if mesh is None else mesh
        spec = found_spec if spec is None else spec
    spec = tuple(spec) + (None,) * (ndim - len(tuple(spec)))
    if len(spec) != ndim:
        raise ValueError(
            f"`spec` must have at most one entry per dimension of `{name}` (shape {x.shape}), "
            f"got {PartitionSpec(*spec)}."
        )
    axes = tuple(_normalise(e) for e in spec)
    names = dict(zip(mesh.axis_names, mesh.axis_sizes, strict=True))
    seen: set[str] = set()
    for d, dim_axes in enumerate(axes):
        size = 1
        for a in dim_axes:
            if a not in names:
                raise ValueError(
                    f"`spec` names mesh axis {a!r}, which `mesh` (axes {tuple(names)}) lacks."
                )
            if a in seen:
                raise ValueError(f"`spec` uses mesh axis {a!r} twice: {PartitionSpec(*spec)}.")
            seen.add(a)
            size *= names[a]
        if x.shape[d] % size:
            raise ValueError(
                f"`mesh` axes {dim_axes} ({size} devices) do not divide dimension {d} of "
                f"`{name}` (size {x.shape[d]}); pad it or choose a mesh whose axis divides it."
            )
    return Layout(mesh, axes)


def require_sharded(layout: Layout, name: str, *, only: Sequence[int] | None = None,
                    at_most: int | None = None, what: str = "") -> None:  # fmt: skip
    """Check that the algorithm can split what is split: only dimensions in ``only``, at
    most ``at_most`` of them."""
    split = [d for d, a in enumerate(layout.axes) if a]
    if only is not None and any(d not in only for d in split):
        raise ValueError(
            f"`{name}` is sharded along dimension(s) {split}, but {what} splits only "
            f"dimension(s) {list(only)}; reshard it (jax.device_put with another "
            "PartitionSpec) or use the single-device routine."
        )
    if at_most is not None and len(split) > at_most:
        raise ValueError(
            f"`{name}` is sharded along {len(split)} dimensions ({split}); {what} splits at "
            f"most {at_most}."
        )
