"""What a compiled program moves between devices, read from its optimised HLO."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from .. import _checks
from . import _cp, _tucker
from ._layout import layout_of

_KINDS = ("all-reduce", "all-gather", "reduce-scatter", "collective-permute", "all-to-all")
_DTYPE_BYTES = {"f64": 8, "f32": 4, "bf16": 2, "f16": 2, "s64": 8, "s32": 4, "u32": 4,
                "s8": 1, "u8": 1, "pred": 1, "c64": 8, "c128": 16}  # fmt: skip
_ARRAY = re.compile(r"\b(f64|f32|bf16|f16|s64|s32|u32|s8|u8|pred|c64|c128)\[([0-9,]*)\]")
_OP = re.compile(r"^\s*(?:ROOT\s+)?%?\S+\s*=\s*(.*?)\s(" + "|".join(_KINDS) + r")(?:-start)?\(")
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")  # unindented headers
_CALLS = re.compile(r"(?:body|condition|to_apply|calls|true_computation|false_computation|"
                    r"branch_computations)=\{?%?([\w.\-, %]+)\}?")  # fmt: skip


class Collective(NamedTuple):
    """One collective of a compiled program: its kind, result shapes, bytes of the result
    (the payload each device ends up with), and whether it runs inside a loop body (once per
    iteration) or once per call."""

    kind: str
    shapes: tuple[tuple[int, ...], ...]
    bytes: int
    in_loop: bool


def _result_arrays(text: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(dt, tuple(int(d) for d in dims.split(",") if d)) for dt, dims in _ARRAY.findall(text)]


def collectives(hlo: str) -> list[Collective]:
    """The collectives of an HLO module's text (``compiled.as_text()``)."""
    comps: dict[str, list[str]] = {}
    current = None
    for line in hlo.splitlines():
        m = _COMPUTATION.match(line)
        if m:
            current = m.group(1)
            comps[current] = []
        elif current is not None:
            comps[current].append(line)
    loop_roots = set()
    for lines in comps.values():
        for line in lines:
            if " while(" in line:
                for name in re.findall(r"body=%?([\w.\-]+)", line):
                    loop_roots.add(name)
    in_loop: set[str] = set()
    stack = list(loop_roots)
    while stack:
        name = stack.pop()
        if name in in_loop or name not in comps:
            continue
        in_loop.add(name)
        for line in comps[name]:
            for group in _CALLS.findall(line):
                stack += [g.strip().lstrip("%") for g in group.split(",") if g.strip()]
    out = []
    for name, lines in comps.items():
        for line in lines:
            m = _OP.match(line)
            if not m or "-done" in line.split("=")[1].split("(")[0]:
                continue
            arrays = _result_arrays(m.group(1))
            if m.group(2) == "collective-permute" or (line.count("-start(") and arrays):
                # async starts return (operand, result, ...) tuples: count the result once
                arrays = arrays[len(arrays) // 2 :] if len(arrays) > 1 else arrays
            size = sum(_DTYPE_BYTES[dt] * math.prod(shape) for dt, shape in arrays)
            out.append(Collective(m.group(2), tuple(s for _, s in arrays), size, name in in_loop))
    return out


def communication(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Compile ``jax.jit(fn)(*args, **kwargs)`` and summarise its collectives.

    Returns:
        ``{"per_iteration": bytes inside loop bodies, "once": bytes outside them,
        "largest": the largest single collective's bytes, "by_kind": {kind: bytes},
        "collectives": [Collective, ...]}``. Bytes are the sizes of the collectives'
        results, i.e. the payload one device receives (a ring all-reduce sends and receives
        about twice that).

    Raises:
        ValueError: when ``fn`` is not callable.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> summary = communication(lambda x: x * 2, jnp.ones(4))
        >>> summary["per_iteration"], summary["once"]
        (0, 0)
    """
    if not callable(fn):
        raise ValueError(f"`fn` must be a callable, got {type(fn).__name__} {fn!r}.")
    compiled = jax.jit(fn).lower(*args, **kwargs).compile()
    found = collectives(compiled.as_text() or "")
    by_kind: dict[str, int] = {}
    for c in found:
        by_kind[c.kind] = by_kind.get(c.kind, 0) + c.bytes
    return {
        "per_iteration": sum(c.bytes for c in found if c.in_loop),
        "once": sum(c.bytes for c in found if not c.in_loop),
        "largest": max((c.bytes for c in found), default=0),
        "by_kind": by_kind,
        "collectives": found,
    }


def sweep_bytes(routine: str, x: Any, rank: Any, *, mesh: Any = None, spec: Any = None) -> int:
    """Bytes one sweep of :func:`lrjax.distributed.cp_als` or
    :func:`lrjax.distributed.tucker_hooi` all-reduces, by the formula of its docstring.

    The payload one device contributes per sweep (a ring all-reduce moves about twice this per
    device); it depends only on the shape, the rank(s), the layout and the dtype, so it can be
    planned before anything runs, and :func:`communication` checks it against the compiled
    program (``communication(...)["per_iteration"]``; ``tests/distributed`` and
    ``experiments/benchmarks/distributed.py`` assert the two agree).

    Args:
        routine: ``"cp_als"`` or ``"tucker_hooi"``.
        x: the sharded input, or a ``jax.ShapeDtypeStruct`` carrying a ``NamedSharding``.
        rank: the CP rank (``cp_als``) or the Tucker ranks (``tucker_hooi``; an int or one per
            mode).
        mesh, spec: the layout, when ``x`` carries none.

    Returns:
        Bytes per sweep (a Python int).

    Raises:
        ValueError: for an unknown ``routine``, a bad ``rank``, or an input whose layout
            cannot be known (as the routines themselves).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jax.sharding import NamedSharding, PartitionSpec as P
        >>> mesh = jax.make_mesh((1,), ("x",))
        >>> x = jax.ShapeDtypeStruct((8, 5, 4), jnp.float32, sharding=NamedSharding(mesh, P("x")))
        >>> sweep_bytes("cp_als", x, 2)   # 4 bytes x (2 (5 + 4) + 2² + 2 + 2)
        104
    """
    routine = _checks.choice("routine", routine, ("cp_als", "tucker_hooi"))
    shape = tuple(x.shape)
    layout = layout_of("x", x, mesh, spec)
    itemsize = jax.numpy.dtype(x.dtype).itemsize
    if routine == "cp_als":
        return _cp.sweep_bytes(shape, _checks.positive_int("rank", rank), layout, itemsize)
    ranks = _checks.ranks("rank", rank, len(shape), sizes=shape)
    return _tucker.sweep_bytes(shape, ranks, layout, itemsize)
