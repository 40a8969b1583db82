"""Frequent directions: a deterministic streaming sketch of a matrix's row space."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks
from .._sharding import partitioned
from ._spectral import svd_guarded
from ._svd import randomized_range, svd_flip


def _shrink(buffer: Array, sketch_size: int, key: jax.Array | None) -> Array:
    """FD shrink of a ``(2l, d)`` buffer: subtract the ``l``-th squared singular value.

    Uses the ``2l x 2l`` Gram matrix (``B = (Σ'/Σ) Uᵀ B`` with ``Σ' = sqrt(max(Σ² − σ_l², 0))``)
    or, with a ``key``, a randomized range of ``Bᵀ`` (Teng & Chu 2019).
    """
    if key is not None:
        q = randomized_range(buffer.T, key, sketch_size + 1, 1)  # (d, l+1)
        small = buffer @ q  # (2l, l+1)
        u, s, vt = svd_guarded(small)
        u, vt = svd_flip(u, vt)
        delta = s[sketch_size - 1] ** 2 if s.shape[0] >= sketch_size else 0.0
        keep = s**2 - delta > 0
        shrunk = jnp.where(keep, jnp.sqrt(jnp.where(keep, s**2 - delta, 1.0)), 0.0)
        rows = (shrunk[:, None] * vt) @ q.T  # (l+1, d)
        out = jnp.zeros_like(buffer)
        return out.at[: rows.shape[0]].set(rows).at[sketch_size:].set(0.0)
    gram = buffer @ buffer.T
    # Split repeated (zero) eigenvalues by a rounding-level ramp: the derivative of their
    # eigenvectors, which the shrink multiplies by zero, then stays finite instead of NaN.
    n = gram.shape[0]
    ramp = jnp.arange(n, dtype=gram.dtype) / n
    gram = gram + jnp.finfo(gram.dtype).eps * jnp.trace(gram) * jnp.diag(ramp)
    u, s2, ut = svd_guarded(gram)  # s2 = squared singular values, descending
    u, _ = svd_flip(u, ut)  # deterministic signs: the sketch is a continuous function
    delta = s2[sketch_size - 1]
    keep = s2 - delta > 0  # double `where`: no inf * 0 in the derivative at the kinks
    ratio = jnp.where(keep, (s2 - delta) / jnp.where(keep, s2, 1.0), 0.0)
    scale = jnp.where(keep, jnp.sqrt(jnp.where(keep, ratio, 1.0)), 0.0)
    out = scale[:, None] * (u.T @ buffer)
    return out.at[sketch_size:].set(0.0)


def fd_init(d: int, sketch_size: int, dtype=None) -> Float[Array, "two_l d"]:
    """Empty frequent-directions state: a zero ``(2 * sketch_size, d)`` buffer.

    Args:
        d: number of columns of the streamed matrix.
        sketch_size: ``l``, rows of the final sketch.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        The state, to pass to :func:`fd_update` and :func:`fd_finalize`.
    """
    d = _checks.positive_int("d", d)
    sketch_size = _checks.positive_int("sketch_size", sketch_size)
    return jnp.zeros((2 * sketch_size, d), dtype=dtype or jnp.result_type(float))


@functools.partial(jax.jit, static_argnames=("randomized",))
def fd_update_unchecked(state, rows, key, randomized):
    """:func:`fd_update` without argument checks (for use inside traced code)."""
    two_l, d = state.shape
    sketch_size = two_l // 2
    n = rows.shape[0]
    n_chunks = -(-n // sketch_size)
    padded = jnp.zeros((n_chunks * sketch_size, d), state.dtype).at[:n].set(rows)
    chunks = padded.reshape(n_chunks, sketch_size, d)
    keys = jax.random.split(key, n_chunks) if randomized else jnp.zeros((n_chunks,))

    def body(buffer, inputs):
        chunk, k = inputs
        buffer = buffer.at[sketch_size:].set(chunk)  # rows l..2l-1 are free after a shrink
        return _shrink(buffer, sketch_size, k if randomized else None), None

    state, _ = lax.scan(body, state, (chunks, keys))
    return state


def fd_update(
    state: Float[Array, "two_l d"], rows: Float[Array, "b d"], *, key: jax.Array | None = None
) -> Float[Array, "two_l d"]:
    """Stream a block of rows into a frequent-directions state.

    Rows are inserted ``l`` at a time into the free half of the buffer, each insertion
    followed by a shrink (Ghashami et al. 2016, Algorithm with ``2l`` rows), inside one
    ``lax.scan``; usable in the caller's own ``scan`` or ``jit``.

    Args:
        state: from :func:`fd_init` or a previous update.
        rows: ``(b, d)`` block.
        key: PRNG key for the randomized shrink of Teng & Chu (TPAMI 2019); ``None`` for
            the exact shrink.

    Returns:
        The new state.
    """
    state = _checks.as_array("state", state, ndim=2, check_finite=False)
    rows = _checks.as_array("rows", rows, ndim=2, check_finite=False)
    if state.shape[0] % 2:
        raise ValueError(f"`state` must have an even number of rows (2l), got {state.shape}.")
    key = _checks.optional_prng_key("key", key)
    if rows.ndim != 2 or rows.shape[1] != state.shape[1]:
        raise ValueError(
            f"`rows` must have shape (b, {state.shape[1]}) to match `state` of shape "
            f"{state.shape}, got {rows.shape}."
        )
    randomized = key is not None
    return partitioned(
        fd_update_unchecked,
        state,
        rows.astype(state.dtype),
        key if randomized else jax.random.key(0),
        randomized=randomized,
    )


def fd_finalize(state: Float[Array, "two_l d"]) -> Float[Array, "l d"]:
    """The sketch ``B`` (``l x d``) of everything streamed so far.

    Raises:
        ValueError: for a ``state`` that is not a ``(2l, d)`` buffer.
    """
    state = _checks.as_array("state", state, ndim=2, check_finite=False)
    if state.shape[0] % 2:
        raise ValueError(f"`state` must have an even number of rows (2l), got {state.shape}.")
    return state[: state.shape[0] // 2]


def frequent_directions(
    a: Float[Array, "n d"], sketch_size: int, *, key: jax.Array | None = None
) -> Float[Array, "l d"]:
    r"""Frequent-directions sketch ``B`` (``l x d``) of the rows of ``a``.

    Guarantee (Ghashami, Liberty, Phillips & Woodruff 2016, Theorem 1.1), for every
    ``k < l``:

    .. math:: 0 \preceq A^\top A - B^\top B, \qquad
       \|A^\top A - B^\top B\|_2 \le \frac{\|A - A_k\|_F^2}{l - k}.

    One pass over the rows, ``O(n d l)`` time, ``2 l d`` memory. With a ``key`` the shrink
    uses a randomized range finder (Teng & Chu, "A fast frequent directions algorithm for
    low rank approximation", TPAMI 2019), cheaper for large ``d``.

    Args:
        a: ``(n, d)`` matrix, streamed by rows.
        sketch_size: ``l`` (static).
        key: optional PRNG key for the randomized variant.

    Returns:
        The sketch ``B``.

    Raises:
        ValueError: for a non-matrix, NaN/inf in an eager call, or a bad ``sketch_size``.

    References:
        E. Liberty, "Simple and deterministic matrix sketching", KDD 2013.
    """
    a = _checks.as_array("a", a, ndim=2)
    key = _checks.optional_prng_key("key", key)
    state = fd_init(a.shape[1], sketch_size, a.dtype)
    return fd_finalize(fd_update(state, a, key=key))
