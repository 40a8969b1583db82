"""Replace chosen dense, convolution and embedding layers of a trained NNX model by factorized
ones."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from flax import nnx

from ._init import count_params

__all__ = ["CompressionReport", "LayerCompression", "compress"]


class LayerCompression(NamedTuple):
    """One replaced layer.

    Attributes:
        path: ``"/"``-joined attribute path of the layer in the model.
        before, after: class names of the original and the new layer.
        params_before, params_after: trainable scalars of the layer.
        flops_before, flops_after: FLOPs per example (dense), per output position at stride 1
            (convolutions) or per looked-up token (embeddings: 0 for a table lookup).
        error: relative kernel error ``||W - W_hat||_F / ||W||_F`` that the decomposition
            reported.
    """

    path: str
    before: str
    after: str
    params_before: int
    params_after: int
    flops_before: int
    flops_after: int
    error: float


class CompressionReport(NamedTuple):
    """What :func:`compress` did: the replaced layers and the model's parameter totals."""

    layers: list[LayerCompression]
    model_params_before: int
    model_params_after: int

    def __str__(self) -> str:
        lines = [
            "| layer | before -> after | params | FLOPs | kernel error |",
            "|---|---|---|---|---|",
        ]
        for r in self.layers:
            lines.append(
                f"| {r.path} | {r.before} -> {r.after} | {r.params_before:,} -> "
                f"{r.params_after:,} | {r.flops_before:,} -> {r.flops_after:,} | {r.error:.4f} |"
            )
        lines.append(
            f"| **model** | | {self.model_params_before:,} -> {self.model_params_after:,} | | |"
        )
        return "\n".join(lines)


_count = count_params


def _dense_flops(layer) -> int:
    if isinstance(layer, nnx.Embed):  # a row copy
        return 0
    kernel = layer.kernel[...]
    if isinstance(layer, nnx.Conv):
        return 2 * int(np.prod(kernel.shape))
    return 2 * int(kernel.shape[0] * kernel.shape[1])


def _new_flops(layer) -> int:
    if hasattr(layer, "flops_per_position"):
        return int(layer.flops_per_position())
    return int(layer.flops_per_example())


def _get(parent, key):
    return parent[key] if isinstance(key, int) else getattr(parent, key)


def _set(parent, key, value) -> None:
    if isinstance(key, int):
        parent[key] = value
    else:
        setattr(parent, key, value)


def compress(
    model: nnx.Module,
    policy: Callable[[str, Any], Any] | Mapping[str, Callable[[Any], Any]],
) -> tuple[nnx.Module, CompressionReport]:
    """A copy of ``model`` with chosen ``nnx.Linear`` / ``nnx.Conv`` / ``nnx.Embed`` layers
    factorized.

    Args:
        model: a trained NNX model; it is not modified.
        policy: either a mapping from layer paths (``"/"``-joined attribute names, e.g.
            ``"encoder/layers/0"``) to a function ``layer -> factorized layer``, or a callable
            ``(path, layer) -> factorized layer or None`` called for every ``nnx.Linear``,
            ``nnx.Conv`` and ``nnx.Embed`` of the model (``None`` keeps the layer). Use the
            ``from_dense`` / ``from_conv`` / ``from_embed`` constructors, e.g.
            ``lambda l: TuckerConv.from_conv(l, (8, 8))``.

    Returns:
        ``(new_model, report)``; ``report`` lists parameters, FLOPs and the kernel error of every
        replaced layer and the model's parameter totals (``print(report)`` gives a table).

    Raises:
        ValueError: a path in a mapping policy that names no dense, convolution or embedding
            layer.

    Examples:
        >>> class MLP(nnx.Module):
        ...     def __init__(self, rngs):
        ...         self.fc = nnx.Linear(64, 64, rngs=rngs)
        >>> from lrjax.nn import LowRankLinear
        >>> policy = {"fc": lambda layer: LowRankLinear.from_dense(layer, 4)}
        >>> small, report = compress(MLP(nnx.Rngs(0)), policy)
        >>> type(small.fc).__name__, report.model_params_after
        ('LowRankLinear', 576)
    """
    model = nnx.clone(model)  # a deep copy: the caller's model and its variables stay as they were
    found = {
        "/".join(map(str, path)): (path, node)
        for path, node in nnx.iter_graph(model)
        if path and isinstance(node, nnx.Linear | nnx.Conv | nnx.Embed)
    }
    if isinstance(policy, Mapping):
        unknown = sorted(set(policy) - set(found))
        if unknown:
            raise ValueError(
                f"policy names {unknown}, which are not dense, conv or embedding layers of the "
                f"model (those are {sorted(found)})"
            )
        plan: dict[str, Callable[[Any], Any]] = dict(policy)
    else:
        fn = policy
        plan = {name: functools.partial(fn, name) for name in found}
    params_before = _count(model)
    rows = []
    for name, make in plan.items():
        path, layer = found[name]
        new = make(layer)
        if new is None:
            continue
        parent = model
        for key in path[:-1]:
            parent = _get(parent, key)
        _set(parent, path[-1], new)
        error = getattr(new, "compression_error", None)
        rows.append(
            LayerCompression(
                name, type(layer).__name__, type(new).__name__, _count(layer), _count(new),
                _dense_flops(layer), _new_flops(new), float("nan") if error is None else error,
            )
        )  # fmt: skip
    return model, CompressionReport(rows, params_before, _count(model))
