"""Argument validation shared by the public entry points.

Every check raises a one-sentence ``ValueError`` that names the argument, the bad value and
what is allowed. Checks on static arguments run at trace time; the finiteness check runs only
when the input is concrete (an eager call), never on a tracer.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

DIFF_MODES = ("implicit", "unroll")


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def nonneg_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a non-negative integer, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative int, got {value!r}.")
    return int(value)


def choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {tuple(allowed)}, got {value!r}.")
    return value


def as_array(
    name: str, x: Any, *, min_ndim: int = 0, ndim: int | None = None, check_finite: bool = True
) -> jax.Array:
    """Convert ``x`` to a floating JAX array and check its number of dimensions.

    Integer input is promoted to the default float dtype. When ``x`` is concrete (not a
    tracer), non-finite entries raise ``ValueError``. A factorized tensor (an lrjax
    container, or TensorLy's ``CPTensor`` / ``TuckerTensor`` / ``TTTensor``) stands for its
    dense tensor.
    """
    arr = jnp.asarray(densified(x))
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        if jnp.issubdtype(arr.dtype, jnp.complexfloating):
            raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
        arr = arr.astype(jnp.result_type(float))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} dimensions, got shape {arr.shape}.")
    if arr.ndim < min_ndim:
        raise ValueError(
            f"`{name}` must have at least {min_ndim} dimensions, got shape {arr.shape}."
        )
    if any(d == 0 for d in arr.shape):
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}.")
    if check_finite:
        finite(name, arr)
    return arr


def densified(x: Any) -> Any:
    """The dense tensor of a factorized ``x`` (anything with ``to_dense()``, or a TensorLy
    factorized tensor with ``to_tensor()``); ``x`` itself otherwise."""
    if isinstance(x, jax.Array | np.ndarray) or not hasattr(x, "shape"):
        return x
    if callable(getattr(x, "to_dense", None)):
        return x.to_dense()
    if type(x).__module__.startswith("tensorly") and callable(getattr(x, "to_tensor", None)):
        return x.to_tensor()
    return x


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds actual values (an eager call), False for a tracer."""
    return not isinstance(x, jax.core.Tracer)


def concrete_value(fn, *arrays: Any) -> Any:
    """Evaluate ``fn(*arrays)`` on concrete arrays and return the (small) result on the host.

    The reduction runs on the arrays' device and only its result is transferred, also when
    the arrays are constants captured while an enclosing function is being traced (where a
    plain ``jnp`` call would return a tracer).
    """
    with jax.ensure_compile_time_eval():
        return jax.device_get(fn(*arrays))


def finite(name: str, x: jax.Array) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has NaN or infinite entries."""
    if not is_concrete(x):
        return
    # One float reduction (NaN and inf times 0 are NaN): 2 ms on 8e6 float64 entries where
    # counting the non-finite ones takes 25 ms; the count runs only on the failing path.
    if bool(concrete_value(lambda a: jnp.isfinite(jnp.sum(a * 0)), x)):
        return
    n_bad = int(concrete_value(lambda a: jnp.sum(~jnp.isfinite(a)), x))
    if n_bad:
        raise ValueError(
            f"`{name}` must be finite, got {n_bad} NaN or infinite entries "
            f"(shape {tuple(x.shape)})."
        )


def renamed(new: str, new_value: Any, old: str, old_value: Any) -> Any:
    """The value of argument ``new``, also accepted for one release under its deprecated name
    ``old`` (with a ``DeprecationWarning``); see the vocabulary table in docs/index.md."""
    if old_value is not None:
        if new_value is not None:
            raise TypeError(f"got both `{new}` and its deprecated name `{old}`; pass `{new}`.")
        warnings.warn(
            f"`{old}` is deprecated and will be removed in the next release; use `{new}`.",
            DeprecationWarning,
            stacklevel=3,
        )
        return old_value
    if new_value is None:
        raise TypeError(f"missing required argument `{new}`.")
    return new_value


def tt_ranks(name: str, ranks_in: Any, shape: Sequence[int]) -> tuple[int, ...]:
    """Normalise tensor-train ranks against the mode sizes ``shape``: an int (every bond),
    the ``N - 1`` internal ranks, or all ``N + 1`` ranks with 1 at both ends. Returns the
    internal ranks, each clipped to what the shape allows (``r_k <= r_{k-1} I_k`` and
    ``<= Π_{m>k} I_m``)."""
    n_modes = len(shape)
    if isinstance(ranks_in, int | np.integer) and not isinstance(ranks_in, bool):
        ranks = (int(ranks_in),) * (n_modes - 1)
    elif isinstance(ranks_in, Sequence) and not isinstance(ranks_in, str):
        ranks = tuple(ranks_in)
        if len(ranks) == n_modes + 1:
            if ranks[0] != 1 or ranks[-1] != 1:
                raise ValueError(
                    f"`{name}` with {n_modes + 1} entries must start and end with 1, got {ranks!r}."
                )
            ranks = ranks[1:-1]
        elif len(ranks) != n_modes - 1:
            raise ValueError(
                f"`{name}` must be an int, {n_modes - 1} internal ranks or {n_modes + 1} "
                f"ranks with 1 at both ends for shape {tuple(shape)}, got {ranks!r}."
            )
    else:
        raise ValueError(f"`{name}` must be an int or a sequence of ints, got {ranks_in!r}.")
    out, prev = [], 1
    for k, r in enumerate(ranks):
        r = positive_int(f"{name}[{k}]", r)
        r = min(r, prev * shape[k], math.prod(shape[k + 1 :]))
        out.append(r)
        prev = r
    return tuple(out)


def ranks_per_mode(name: str, ranks: Any, shape: Sequence[int]) -> tuple[int, ...]:
    """Normalise Tucker-style ranks (an int or one int per mode) against ``shape``; a rank
    above its mode's size is an error."""
    ndim = len(shape)
    if isinstance(ranks, int | np.integer) and not isinstance(ranks, bool):
        ranks = (int(ranks),) * ndim
    if not isinstance(ranks, Sequence) or isinstance(ranks, str):
        raise ValueError(f"`{name}` must be an int or a sequence of ints, got {ranks!r}.")
    ranks = tuple(ranks)
    if len(ranks) != ndim:
        raise ValueError(
            f"`{name}` must have one entry per mode ({ndim} for shape {tuple(shape)}), "
            f"got {len(ranks)}: {ranks!r}."
        )
    out = []
    for n, (r, size) in enumerate(zip(ranks, shape, strict=True)):
        r = positive_int(f"{name}[{n}]", r)
        if r > size:
            raise ValueError(
                f"`{name}[{n}]` must be at most the size of mode {n} ({size}) "
                f"for shape {tuple(shape)}, got {r}."
            )
        out.append(r)
    return tuple(out)


def prng_key(name: str, key: Any) -> jax.Array:
    """Check that ``key`` is one PRNG key: a typed key from ``jax.random.key(seed)`` (shape
    ``()``) or a legacy ``jax.random.PRNGKey(seed)`` (``uint32``, shape ``(2,)``)."""
    hint = "a PRNG key from jax.random.key(seed)"
    if key is None:
        raise ValueError(f"`{name}` must be {hint}, got None.")
    dtype = getattr(key, "dtype", None)
    shape = tuple(getattr(key, "shape", ()))
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(f"`{name}` must be a single key (shape ()), got shape {shape}.")
        return key
    if dtype is not None and np.dtype(dtype) == np.uint32 and shape == (2,):
        return key
    shown = f"{type(key).__name__} {key!r}" if dtype is None else f"dtype {dtype}, shape {shape}"
    raise ValueError(f"`{name}` must be {hint}, got {shown}.")


def optional_prng_key(name: str, key: Any) -> jax.Array | None:
    """:func:`prng_key` for an optional key (None passes)."""
    return None if key is None else prng_key(name, key)


def scalar(name: str, value: Any, condition, allowed: str) -> Any:
    """Check a concrete scalar option against ``condition`` (NaN always fails); a traced one
    passes unchecked. Returns ``value`` unchanged."""
    if value is None or not is_concrete(value):
        return value
    try:
        v = float(np.asarray(value))
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a real number, got {value!r}.") from None
    if np.isnan(v) or not condition(v):
        raise ValueError(f"`{name}` must be {allowed}, got {value!r}.")
    return value


def tolerance(tol: Any, name: str = "tol") -> Any:
    """A stopping tolerance: a non-negative number (or a traced value)."""
    return scalar(name, tol, lambda v: v >= 0, "a non-negative number")


def positive(name: str, value: Any) -> Any:
    """A positive scalar option (or a traced value)."""
    return scalar(name, value, lambda v: v > 0, "positive")


def nonnegative(name: str, value: Any) -> Any:
    """A non-negative scalar option (or a traced value)."""
    return scalar(name, value, lambda v: v >= 0, "non-negative")


def floating_tree(name: str, tree: Any) -> None:
    """Check that every leaf of ``tree`` is a real floating array (an iterate that a solver
    moves continuously; an integer one would be truncated at every step)."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        raise ValueError(f"`{name}` must hold at least one array, got {tree!r}.")
    for leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise ValueError(
                f"`{name}` must hold real floating arrays (e.g. jnp.zeros(n)), got dtype {dtype}."
            )
