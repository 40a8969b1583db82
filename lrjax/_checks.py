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
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if isinstance(value, str | None | int | float) else type(value).__name__
        raise ValueError(f"`{name}` must be one of {tuple(allowed)}, got {shown}.")
    return value


HALF_DTYPES = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def as_array(
    name: str,
    x: Any,
    *,
    min_ndim: int = 0,
    ndim: int | None = None,
    check_finite: bool = True,
    complex_ok: bool = False,
) -> jax.Array:
    """Convert ``x`` to a floating JAX array and check its number of dimensions.

    Integer input is promoted to the default float dtype, half precision (float16, bfloat16)
    to float32; complex input is refused unless ``complex_ok`` (routines that take complex
    data say so). When ``x`` is concrete (not a
    tracer), non-finite entries raise ``ValueError``. A factorized tensor (an lrjax
    container, or TensorLy's ``CPTensor`` / ``TuckerTensor`` / ``TTTensor``) stands for its
    dense tensor.
    """
    arr = jnp.asarray(densified(x))
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        if jnp.issubdtype(arr.dtype, jnp.complexfloating):
            if not complex_ok:
                raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
        else:
            arr = arr.astype(jnp.result_type(float))
    elif arr.dtype in HALF_DTYPES:
        # LAPACK (and JAX's linear algebra on CPU) has no half-precision routines: float16 /
        # bfloat16 data are computed in float32, as SciPy's linalg does with float16
        arr = arr.astype(jnp.float32)
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


def is_bcoo(x: Any) -> bool:
    """True for a ``jax.experimental.sparse.BCOO`` array (checked without importing it)."""
    return type(x).__name__ == "BCOO" and type(x).__module__.startswith("jax.experimental.sparse")


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


@jax.jit
def _all_finite(a: jax.Array) -> jax.Array:
    # one compiled program per shape (op by op, the three operations compiled three, ~80 ms
    # on the first call of every new shape)
    return jnp.isfinite(jnp.sum(a * 0))


@jax.jit
def _count_nonfinite(a: jax.Array) -> jax.Array:
    return jnp.sum(~jnp.isfinite(a))


def host_view(x: Any) -> np.ndarray | None:
    """A NumPy view (no copy) of a concrete ``jax.Array`` held whole by one CPU device, of a
    NumPy float dtype; None for anything else (a tracer, a sharded or accelerator array)."""
    if not isinstance(x, jax.Array) or isinstance(x, jax.core.Tracer):
        return None
    if x.dtype not in (np.float32, np.float64) or x.is_deleted():
        return None
    devices = list(x.devices())
    if len(devices) != 1 or devices[0].platform != "cpu":
        return None
    return np.asarray(x)


def _count_nonfinite_entries(x: jax.Array) -> int:
    """Number of NaN or infinite entries of a concrete ``x`` (0 when all are finite).

    A CPU array is read in place by NumPy: no program is compiled for its shape (the jitted
    check cost 33-52 ms on the first call of every new shape; NumPy's sum takes 3.5 ms on
    8e6 float64 entries against 2.5-3.4 ms for the compiled one, and microseconds on small
    arrays). Elsewhere one float reduction runs on the array's device (NaN and inf times 0
    are NaN). Counting runs only on the failing path.
    """
    view = host_view(x)
    if view is not None:
        # The sum is finite when every entry is (it may overflow on huge finite entries:
        # then the count below decides, hence no overflow warning).
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(view)):
                return 0
        return int(np.count_nonzero(~np.isfinite(view)))
    if bool(concrete_value(_all_finite, x)):
        return 0
    return int(concrete_value(_count_nonfinite, x))


def finite(name: str, x: jax.Array) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has NaN or infinite entries."""
    if not is_concrete(x):
        return
    n_bad = _count_nonfinite_entries(x)
    if n_bad:
        raise ValueError(
            f"`{name}` must be finite, got {n_bad} NaN or infinite entries "
            f"(shape {tuple(x.shape)})."
        )


def zero_unobserved(name: str, x: jax.Array, observed: jax.Array | None) -> jax.Array:
    """``x`` with the entries outside ``observed`` (a boolean array of its shape) set to 0:
    missing data may be marked there by NaN. An eager call checks that the observed entries
    are finite (all of them without ``observed``)."""
    if observed is None:
        finite(name, x)
        return x
    x = jnp.where(observed, x, jnp.zeros((), x.dtype))
    finite(f"{name} (observed entries)", x)
    return x


def boolean_mask(name: str, mask: Any, shape: tuple[int, ...]) -> jax.Array:
    """``mask`` as a boolean array of ``shape``: booleans, or numbers that are all 0 or 1
    (checked when concrete; a traced numeric mask is True where it is non-zero)."""
    arr = jnp.asarray(mask)
    if arr.shape != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {arr.shape}.")
    if arr.dtype == jnp.bool_:
        return arr
    if not jnp.issubdtype(arr.dtype, jnp.number):
        raise ValueError(f"`{name}` must be boolean or 0/1, got dtype {arr.dtype}.")
    zero_one = lambda a: jnp.all((a == 0) | (a == 1))
    if is_concrete(arr) and not bool(concrete_value(zero_one, arr)):
        raise ValueError(
            f"`{name}` must be boolean or 0/1, got dtype {arr.dtype} with other values."
        )
    return arr != 0


def observation_mask(name: str, mask: Any, shape: tuple[int, ...]) -> jax.Array:
    """``mask`` (True where observed) as a boolean array of ``shape`` (:func:`boolean_mask`);
    a concrete mask that selects no entry is an error."""
    arr = boolean_mask(name, mask, shape)
    if is_concrete(arr) and not bool(concrete_value(jnp.any, arr)):
        raise ValueError(f"`{name}` must select at least one entry, got none.")
    return arr


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


def ranks(
    name: str,
    value: Any,
    n: int,
    *,
    form: str = "modes",
    sizes: Sequence[int] | None = None,
    clip: bool = False,
) -> tuple[int, ...]:
    """The one rank normaliser of the package (every decomposition, layer and helper).

    ``form="modes"``: one rank per mode of an ``n``-way tensor (Tucker ranks): an int for
    every mode or ``n`` ints. A concrete integer array (NumPy or JAX, at most 1-D) counts as
    its list of ints. With ``sizes``, a rank above its mode's size is an error, or is
    clipped to it with ``clip=True``, and None (the whole value or an entry) stands for the
    mode's size.

    ``form="tt"``: the ranks of an ``n``-core tensor train: an int for every bond, the
    ``n - 1`` inner ranks, or all ``n + 1`` with 1 at both ends. Returns the ``n - 1`` inner
    ranks. With ``sizes`` and ``clip=True`` each is clipped to what the shape allows
    (``r_k <= r_{k-1} I_k`` and ``<= Π_{m>k} I_m``).

    ``form="tr"``: the ranks of an ``n``-core tensor ring: an int for every bond, ``n`` ranks
    ``(r_0, ..., r_{n-1})``, or ``n + 1`` with the last equal to the first (TensorLy's form).
    Returns the ``n`` ranks ``r_0 .. r_{n-1}`` (``sizes`` and ``clip`` are not used).

    Every error names ``name`` (and the entry, ``name[k]``) and the value.
    """
    if isinstance(value, np.ndarray | jax.Array) and not isinstance(value, jax.core.Tracer):
        if value.ndim <= 1 and np.issubdtype(value.dtype, np.integer):
            value = np.asarray(value).tolist()  # an int, or a list of ints
    if form == "modes" and sizes is not None:  # None: the mode's full size (TensorLy's tucker)
        if value is None:
            value = tuple(sizes)
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n:
            value = tuple(size if r is None else r for r, size in zip(value, sizes, strict=True))
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        out = (int(value),) * (n - 1 if form == "tt" else n)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        out = tuple(value)
        shown = f" for shape {tuple(sizes)}" if sizes is not None else ""
        if form == "tt":
            if len(out) == n + 1:
                if out[0] != 1 or out[-1] != 1:
                    raise ValueError(
                        f"`{name}` with {n + 1} entries must start and end with 1, got {value!r}."
                    )
                out = out[1:-1]
            elif len(out) != n - 1:
                raise ValueError(
                    f"`{name}` must be an int, {n - 1} inner ranks or {n + 1} ranks with 1 at "
                    f"both ends{shown}, got {value!r}."
                )
        elif form == "tr":
            if len(out) == n + 1:
                if out[0] != out[-1]:
                    raise ValueError(
                        f"`{name}` with {n + 1} entries must end with its first entry (the "
                        f"ring closes, r_{n} = r_0), got {value!r}."
                    )
                out = out[:-1]
            elif len(out) != n:
                raise ValueError(
                    f"`{name}` must be an int, {n} ranks (r_0, ..., r_{n - 1}) or {n + 1} with "
                    f"the last equal to the first{shown}, got {value!r}."
                )
        elif len(out) != n:
            raise ValueError(
                f"`{name}` must be an int or one entry per mode ({n}{shown}), "
                f"got {len(out)}: {value!r}."
            )
    else:
        raise ValueError(f"`{name}` must be an int or a sequence of ints, got {value!r}.")
    out = tuple(positive_int(f"{name}[{k}]", r) for k, r in enumerate(out))
    if sizes is None or form == "tr":
        return out
    if form == "tt":
        if not clip:
            return out
        clipped, prev = [], 1
        for k, r in enumerate(out):
            prev = min(r, prev * sizes[k], math.prod(sizes[k + 1 :]))
            clipped.append(prev)
        return tuple(clipped)
    for k, (r, size) in enumerate(zip(out, sizes, strict=True)):
        if r > size and not clip:
            raise ValueError(
                f"`{name}[{k}]` must be at most the size of mode {k} ({size}) "
                f"for shape {tuple(sizes)}, got {r}."
            )
    return tuple(min(r, size) for r, size in zip(out, sizes, strict=True))


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
