"""Pytree arguments of the elementwise proximal operators (jaxopt's convention).

A solver over a pytree of parameters (``lrjax.solvers.proximal_gradient`` with a dict of
weights) calls its prox on that pytree. The elementwise operators apply to every leaf, with a
hyperparameter shared by all leaves or given per leaf as a pytree of ``x``'s structure (for a
pair such as ``(l1reg, l2reg)``, each entry either way); the operators of a norm of the whole
vector (:func:`~lrjax.prox.prox_l2`, :func:`~lrjax.prox.projection_l2_ball`) treat the
pytree's leaves as one vector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from jax.flatten_util import ravel_pytree

from .. import _hyper
from .._hyper import is_tree


def _per_leaf(h: Any, treedef: Any, n: int) -> list:
    """``h`` split over ``n`` leaves: its leaves when it is a pytree of ``x``'s structure,
    else ``h`` itself for every leaf."""
    if is_tree(h) and jax.tree.structure(h) == treedef:
        return jax.tree.leaves(h)
    return [h] * n


def leafwise(prox: Callable, x: Any, hyperparams: Any, scaling: Any, *, arity: int) -> Any:
    """``prox`` applied to every leaf of the pytree ``x``; ``arity`` is the number of
    hyperparameters (0: unused, 1: one value, 2: a pair), each shared or given per leaf."""
    leaves, treedef = jax.tree.flatten(x)
    n = len(leaves)
    if arity == 0:
        per: list = [hyperparams] * n
    elif arity == 1:
        per = _per_leaf(hyperparams, treedef, n)
    else:
        first, second = _hyper.pair("hyperparams", hyperparams)
        per = list(zip(_per_leaf(first, treedef, n), _per_leaf(second, treedef, n), strict=True))
    return jax.tree.unflatten(
        treedef, [prox(leaf, h, scaling) for leaf, h in zip(leaves, per, strict=True)]
    )


def as_one_vector(prox: Callable, x: Any, hyperparams: Any, scaling: Any) -> Any:
    """``prox`` of the pytree ``x``'s leaves concatenated into one vector, split back (leaves
    of integer dtype come back as floats)."""
    floats = jax.tree.map(lambda leaf: _hyper.real_array("x (a leaf)", leaf), x)
    flat, unravel = ravel_pytree(floats)
    return unravel(prox(flat, hyperparams, scaling))
