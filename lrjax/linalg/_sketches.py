"""Sketching matrices as pytrees, the sketch-and-solve low-rank approximation ``SCW_k``, and
learning a sketch's values by gradient descent (Indyk, Vakilian & Yuan, NeurIPS 2019).

A sketch ``S`` (``m x n``, ``m`` small) is never formed: each family stores what defines it
and applies itself to an ``(n, d)`` matrix as ``S @ a`` (``apply``) and to an ``(m, d)`` one
as ``S^T @ b`` (``apply_transpose``). All are pytrees (their integer
positions and static sizes included), so they pass through ``jit``, ``vmap`` and ``grad``;
their floating-point entries (``values`` / ``matrix``) are the trainable parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .. import _checks, _random


def _register(cls):
    data = [f.name for f in dataclasses.fields(cls) if not f.metadata.get("static")]
    meta = [f.name for f in dataclasses.fields(cls) if f.metadata.get("static")]
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


def _static():
    return dataclasses.field(metadata={"static": True})


@_register
@dataclasses.dataclass(frozen=True)
class GaussianSketch:
    """A dense sketch ``S = matrix`` (``m x n``); :func:`gaussian_sketch` draws one with
    i.i.d. ``N(0, 1/m)`` entries. Trainable parameters: ``matrix``."""

    matrix: Float[Array, "m n"]

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return tuple(self.matrix.shape)  # type: ignore[return-value]

    def apply(self, a: Float[Array, "n d"]) -> Float[Array, "m d"]:
        """``S @ a``."""
        return self.matrix @ a

    def apply_transpose(self, b: Float[Array, "m d"]) -> Float[Array, "n d"]:
        """``S^T @ b``."""
        return self.matrix.T @ b

    def to_dense(self) -> Float[Array, "m n"]:
        """The ``m x n`` matrix ``S``."""
        return self.matrix

    @property
    def params(self) -> Array:
        """The trainable entries (``matrix``)."""
        return self.matrix

    def with_params(self, params: Array) -> GaussianSketch:
        """The same sketch with new trainable entries."""
        return GaussianSketch(params)


@_register
@dataclasses.dataclass(frozen=True)
class CountSketch:
    """A CountSketch: column ``j`` of ``S`` (``m x n``) has its one non-zero, ``values[j]``,
    in row ``rows[j]``. :func:`count_sketch` draws uniform rows and random signs; the
    learned sketch of Indyk et al. keeps the rows and trains the values. Applying it costs
    one pass over ``a`` (a segment sum). Trainable parameters: ``values``."""

    rows: Int[Array, " n"]
    values: Float[Array, " n"]
    m: int = _static()

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return (self.m, self.values.shape[-1])

    def apply(self, a: Float[Array, "n d"]) -> Float[Array, "m d"]:
        """``S @ a``."""
        return jax.ops.segment_sum(self.values[:, None] * a, self.rows, num_segments=self.m)

    def apply_transpose(self, b: Float[Array, "m d"]) -> Float[Array, "n d"]:
        """``S^T @ b`` (a gather of ``b``'s rows)."""
        return self.values[:, None] * b[self.rows]

    def to_dense(self) -> Float[Array, "m n"]:
        """The ``m x n`` matrix ``S``."""
        n = self.values.shape[-1]
        return (
            jnp.zeros((self.m, n), self.values.dtype).at[self.rows, jnp.arange(n)].set(self.values)
        )

    @property
    def params(self) -> Array:
        """The trainable entries (``values``)."""
        return self.values

    def with_params(self, params: Array) -> CountSketch:
        """The same sketch (same rows) with new values."""
        return CountSketch(self.rows, params, self.m)


@_register
@dataclasses.dataclass(frozen=True)
class SparseSignSketch:
    """A sparse sign sketch: column ``j`` of ``S`` has ``nnz`` non-zeros, ``values[:, j]`` in
    the distinct rows ``rows[:, j]`` (:func:`sparse_sign_sketch`: ``±1/sqrt(nnz)``).
    Trainable parameters: ``values``."""

    rows: Int[Array, "nnz n"]
    values: Float[Array, "nnz n"]
    m: int = _static()

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return (self.m, self.values.shape[-1])

    def apply(self, a: Float[Array, "n d"]) -> Float[Array, "m d"]:
        """``S @ a``."""
        terms = self.values[:, :, None] * a[None]  # (nnz, n, d)
        return jax.ops.segment_sum(
            terms.reshape(-1, a.shape[-1]), self.rows.reshape(-1), num_segments=self.m
        )

    def apply_transpose(self, b: Float[Array, "m d"]) -> Float[Array, "n d"]:
        """``S^T @ b`` (``nnz`` gathers of ``b``'s rows)."""
        return jnp.sum(self.values[:, :, None] * b[self.rows], axis=0)

    def to_dense(self) -> Float[Array, "m n"]:
        """The ``m x n`` matrix ``S``."""
        nnz, n = self.values.shape
        cols = jnp.broadcast_to(jnp.arange(n), (nnz, n))
        return jnp.zeros((self.m, n), self.values.dtype).at[self.rows, cols].add(self.values)

    @property
    def params(self) -> Array:
        """The trainable entries (``values``)."""
        return self.values

    def with_params(self, params: Array) -> SparseSignSketch:
        """The same sketch (same rows) with new values."""
        return SparseSignSketch(self.rows, params, self.m)


def _hadamard_rows(x: Array) -> Array:
    """The unnormalised Walsh-Hadamard transform of ``x`` along axis 0 (length a power of 2),
    ``H_n x`` with Sylvester's ordering (``scipy.linalg.hadamard``)."""
    n = x.shape[0]
    h = 1
    while h < n:
        y = x.reshape(n // (2 * h), 2, h, *x.shape[1:])
        top, bottom = y[:, 0], y[:, 1]
        x = jnp.stack([top + bottom, top - bottom], axis=1).reshape(x.shape)
        h *= 2
    return x


@_register
@dataclasses.dataclass(frozen=True)
class SRHTSketch:
    """A subsampled randomized Hadamard transform ``S = sqrt(N/m) R H D``: random signs
    ``D`` on the ``n`` rows (zero-padded to ``N``, the next power of 2), the normalised
    Walsh-Hadamard transform ``H``, and ``m`` of its ``N`` rows, ``rows`` (drawn without
    replacement by :func:`srht_sketch`). Applying it costs ``O(N d log N)``. It has no
    trainable parameters."""

    signs: Float[Array, " n"]
    rows: Int[Array, " m"]

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``."""
        return (self.rows.shape[-1], self.signs.shape[-1])

    def apply(self, a: Float[Array, "n d"]) -> Float[Array, "m d"]:
        """``S @ a``."""
        n = a.shape[0]
        big = 1 << max(n - 1, 0).bit_length()
        x = jnp.pad(self.signs[:, None] * a, ((0, big - n), (0, 0)))
        m = self.rows.shape[-1]
        return _hadamard_rows(x)[self.rows] / math.sqrt(m)

    def apply_transpose(self, b: Float[Array, "m d"]) -> Float[Array, "n d"]:
        """``S^T @ b`` (the Walsh-Hadamard matrix is symmetric)."""
        n, m = self.signs.shape[-1], self.rows.shape[-1]
        big = 1 << max(n - 1, 0).bit_length()
        x = jnp.zeros((big, b.shape[-1]), b.dtype).at[self.rows].set(b)
        return self.signs[:, None] * _hadamard_rows(x)[:n] / math.sqrt(m)

    def to_dense(self) -> Float[Array, "m n"]:
        """The ``m x n`` matrix ``S``."""
        return self.apply(jnp.eye(self.signs.shape[-1], dtype=self.signs.dtype))


Sketch = GaussianSketch | CountSketch | SparseSignSketch | SRHTSketch
#: The sketch classes (for ``isinstance`` checks by lrjax's routines that take a sketch).
SKETCH_TYPES = (GaussianSketch, CountSketch, SparseSignSketch, SRHTSketch)


def _sizes(m, n):
    m = _checks.positive_int("m", m)
    n = _checks.positive_int("n", n)
    return m, n


def gaussian_sketch(key: jax.Array, m: int, n: int, *, dtype: Any = None) -> GaussianSketch:
    """A Gaussian sketch, ``m x n`` with i.i.d. ``N(0, 1/m)`` entries.

    Args:
        key: PRNG key.
        m: sketch size (rows).
        n: the number of rows of the matrices it applies to.
        dtype: floating dtype (default: JAX's default float).

    Returns:
        :class:`GaussianSketch`.

    Raises:
        ValueError: for a non-positive size or an invalid key.
    """
    key = _checks.prng_key("key", key)
    m, n = _sizes(m, n)
    dtype = dtype or jnp.result_type(float)
    return GaussianSketch(_random.normal(key, (m, n), dtype) / math.sqrt(m))


def count_sketch(key: jax.Array, m: int, n: int, *, dtype: Any = None) -> CountSketch:
    """A CountSketch, ``m x n``: each column's non-zero in a random row, ``±1``.

    Every row is used (``m`` random columns go one to each row, the others to uniformly
    random rows), so ``S A`` has full row rank for generic ``A`` and :func:`sketched_lra` is
    differentiable; for ``n`` much larger than ``m`` this is the uniform CountSketch up to an
    event of negligible probability.

    Args:
        key: PRNG key.
        m: sketch size (rows).
        n: the number of rows of the matrices it applies to.
        dtype: floating dtype of the values (default: JAX's default float).

    Returns:
        :class:`CountSketch`.

    Raises:
        ValueError: for a non-positive size, ``m > n``, or an invalid key.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> s = count_sketch(jax.random.key(0), 3, 10)
        >>> s.apply(jnp.ones((10, 2))).shape
        (3, 2)
    """
    key = _checks.prng_key("key", key)
    m, n = _sizes(m, n)
    dtype = dtype or jnp.result_type(float)
    if m > n:
        raise ValueError(f"`m` must be at most n = {n} (a row of S would be empty), got {m}.")
    k1, k2, k3 = jax.random.split(key, 3)
    base = jnp.concatenate([jnp.arange(m), jax.random.randint(k1, (n - m,), 0, m)])
    rows = jax.random.permutation(k3, base)
    values = jax.random.rademacher(k2, (n,), dtype)
    return CountSketch(rows, values, m)


def sparse_sign_sketch(
    key: jax.Array, m: int, n: int, *, nnz: int = 8, dtype: Any = None
) -> SparseSignSketch:
    """A sparse sign sketch, ``m x n``: ``nnz`` non-zeros ``±1/sqrt(nnz)`` per column, in
    distinct uniformly random rows (Tropp et al.'s recommended sparse embedding).

    Args:
        key: PRNG key.
        m: sketch size (rows).
        n: the number of rows of the matrices it applies to.
        nnz: non-zeros per column, ``1 <= nnz <= m`` (``nnz = 1`` is a CountSketch).
        dtype: floating dtype of the values (default: JAX's default float).

    Returns:
        :class:`SparseSignSketch`.

    Raises:
        ValueError: for a non-positive size, ``nnz`` outside ``[1, m]``, or an invalid key.
    """
    key = _checks.prng_key("key", key)
    m, n = _sizes(m, n)
    nnz = _checks.positive_int("nnz", nnz)
    if nnz > m:
        raise ValueError(f"`nnz` must be at most m = {m}, got {nnz}.")
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    order = jnp.argsort(_random.uniform(k1, (n, m)), axis=1)[:, :nnz]  # distinct rows
    values = _random.rademacher(k2, (nnz, n), dtype) / math.sqrt(nnz)
    return SparseSignSketch(order.T, values, m)


def srht_sketch(key: jax.Array, m: int, n: int, *, dtype: Any = None) -> SRHTSketch:
    """A subsampled randomized Hadamard transform, ``m x n`` (``m`` at most ``N``, the power
    of 2 at or above ``n``).

    Args:
        key: PRNG key.
        m: sketch size (rows).
        n: the number of rows of the matrices it applies to.
        dtype: floating dtype of the signs (default: JAX's default float).

    Returns:
        :class:`SRHTSketch`.

    Raises:
        ValueError: for a non-positive size, ``m`` above ``N``, or an invalid key.
    """
    key = _checks.prng_key("key", key)
    m, n = _sizes(m, n)
    big = 1 << max(n - 1, 0).bit_length()
    if m > big:
        raise ValueError(
            f"`m` must be at most {big} (the power of 2 at or above n = {n}), got {m}."
        )
    dtype = dtype or jnp.result_type(float)
    k1, k2 = jax.random.split(key)
    signs = jax.random.rademacher(k1, (n,), dtype)
    rows = jax.random.permutation(k2, big)[:m]
    return SRHTSketch(signs, rows)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _top_projector(g: Array, rank: int) -> Array:
    """``W_k W_k^T``: the projector onto the ``rank`` leading eigenvectors of the symmetric
    ``g``. Its derivative only involves the gaps between kept and dropped eigenvalues, so it
    is finite at eigenvalues repeated within either group (a gap at rounding level across
    the cut, where the projector is not differentiable, contributes zero)."""
    _, w = jnp.linalg.eigh(g)
    top = w[:, -rank:]
    return top @ top.T


@_top_projector.defjvp
def _top_projector_jvp(rank, primals, tangents):
    (g,), (dg,) = primals, tangents
    lam, w = jnp.linalg.eigh(g)
    top = w[:, -rank:]
    n = lam.shape[-1]
    kept = jnp.arange(n) >= n - rank
    gap = lam[:, None] - lam[None, :]  # l_i - l_j
    scale = jnp.maximum(jnp.max(jnp.abs(lam)), jnp.finfo(lam.dtype).tiny)
    ok = (kept[:, None] != kept[None, :]) & (jnp.abs(gap) > jnp.finfo(lam.dtype).eps * scale * n)
    # For i kept and j dropped the coefficient of (w_i w_j^T + w_j w_i^T) is
    # (w_j^T dG w_i) / (l_i - l_j); F is symmetric with F_ij = 1 / (l_kept - l_dropped).
    f = jnp.where(ok, 1.0 / jnp.where(ok, jnp.where(kept[:, None], gap, -gap), 1.0), 0.0)
    d = w.T @ dg @ w
    return top @ top.T, w @ (f * d) @ w.T


def _sketch_check(sketch) -> None:
    if not isinstance(sketch, SKETCH_TYPES):
        names = ", ".join(c.__name__ for c in SKETCH_TYPES)
        raise TypeError(f"`sketch` must be one of {names}, got {type(sketch).__name__}.")


@functools.partial(jax.jit, static_argnames=("rank",))
def _sketched_lra(a, sketch, rank):
    sa = sketch.apply(a)  # (m, d)
    q, _ = jnp.linalg.qr(sa.T)  # (d, m): the row space of S A
    b = a @ q  # (n, m)
    return b @ _top_projector(b.T @ b, rank) @ q.T


def _check_sketch_rank(shape, sketch, rank, name: str) -> int:
    """The checks of :func:`sketched_lra` for a matrix of ``shape`` (named ``name``)."""
    _sketch_check(sketch)
    m, n = sketch.shape
    if n != shape[0]:
        raise ValueError(f"`sketch` has shape {(m, n)} but `{name}` has {shape[0]} rows, not {n}.")
    rank = _checks.positive_int("rank", rank)
    if rank > min(m, shape[1]):
        raise ValueError(
            f"`rank` must be at most min(m, d) = {min(m, shape[1])} for a sketch of {m} rows "
            f"and `{name}` of shape {tuple(shape)}, got {rank}."
        )
    return rank


def sketched_lra(a: Float[Array, "n d"], sketch: Sketch, rank: int) -> Float[Array, "n d"]:
    r"""The sketch-and-solve rank-``k`` approximation ``SCW_k(A, S) = [A V]_k V^T``.

    ``V`` is an orthonormal basis of the row space of ``S A`` (``m`` rows) and ``[B]_k`` the
    best rank-``k`` approximation of ``B = A V``: the best rank-``k`` approximation of ``A``
    whose rows lie in the row space of ``S A`` (Clarkson & Woodruff; the approximation that
    Indyk, Vakilian & Yuan learn ``S`` for). Differentiable in ``a`` and in the sketch's
    entries: ``[B]_k = B P_k`` with ``P_k`` the projector onto the leading ``k`` right
    singular vectors of ``B``, whose derivative involves only the gaps between kept and
    dropped singular values, so it stays finite at singular values repeated within either
    group. Needs ``S A`` of full row rank ``m`` (a CountSketch with every row used).

    Args:
        a: matrix ``(n, d)``.
        sketch: a sketch of shape ``(m, n)`` (:class:`CountSketch`, :class:`GaussianSketch`,
            :class:`SparseSignSketch`, :class:`SRHTSketch`).
        rank: ``k``, ``1 <= k <= min(m, d)`` (static).

    Returns:
        The ``(n, d)`` approximation, of rank at most ``k``.

    Raises:
        TypeError: if ``sketch`` is not a sketch.
        ValueError: for a non-matrix ``a``, a sketch whose ``n`` differs from ``a``'s rows,
            or ``rank`` out of range.

    References:
        P. Indyk, A. Vakilian, Y. Yuan, "Learning-based low-rank approximations", NeurIPS
        2019; K. L. Clarkson, D. P. Woodruff, "Low rank approximation and regression in
        input sparsity time", STOC 2013.
    """
    a = _checks.as_array("a", a, ndim=2)
    rank = _check_sketch_rank(a.shape, sketch, rank, "a")
    return _sketched_lra(a, sketch, rank)


def sketch_loss(sketch: Sketch, matrices: Float[Array, "b n d"], rank: int) -> Float[Array, ""]:
    r"""Mean squared Frobenius error :math:`\frac1b \sum_i \|A_i - SCW_k(A_i, S)\|_F^2` of
    :func:`sketched_lra` over a batch (the training loss of Indyk et al.).

    Args:
        sketch: the sketch, ``(m, n)``.
        matrices: batch of matrices ``(b, n, d)``.
        rank: ``k`` (static).

    Returns:
        The scalar loss.

    Raises:
        TypeError, ValueError: as :func:`sketched_lra`, and for a batch that is not 3-D.
    """
    matrices = _checks.as_array("matrices", matrices, ndim=3)
    rank = _check_sketch_rank(matrices.shape[1:], sketch, rank, "matrices")
    return _loss(sketch, matrices, rank)


@functools.partial(jax.jit, static_argnames=("rank",))
def _loss(sketch, matrices, rank):
    approx = jax.vmap(lambda a: _sketched_lra(a, sketch, rank))(matrices)
    return jnp.mean(jnp.sum((matrices - approx) ** 2, axis=(1, 2)))


def learn_sketch(
    matrices: Float[Array, "b n d"] | Sequence[Array],
    sketch: Sketch,
    rank: int,
    *,
    steps: int = 500,
    optimizer: Any = None,
    batch_size: int | None = None,
    key: jax.Array | None = None,
    callback: Callable[[int, Array], None] | None = None,
) -> tuple[Sketch, Array]:
    r"""Learn a sketch's entries by gradient descent on :func:`sketch_loss` (Indyk,
    Vakilian & Yuan, NeurIPS 2019: a CountSketch's positions stay, its values are learned).

    Each step draws ``batch_size`` training matrices (all of them when ``None``) and takes an
    optax step on the sketch's trainable entries (``values``, or ``matrix`` for a Gaussian
    sketch). The same recipe in a few lines of your own, with any optax optimizer::

        loss = lambda v: lrjax.linalg.sketch_loss(sketch.with_params(v), batch, k)
        grads = jax.grad(loss)(sketch.params)

    Args:
        matrices: training matrices, ``(b, n, d)`` or a sequence of ``(n, d)`` arrays.
        sketch: the initial sketch, ``(m, n)`` (e.g. :func:`count_sketch`); not modified.
        rank: ``k`` (static).
        steps: number of gradient steps.
        optimizer: an ``optax.GradientTransformation`` (default: ``optax.adam(0.1)``, the
            paper's optimizer; needs ``optax``, installed with ``lrjax[nn]``).
        batch_size: matrices per step (default: all).
        key: PRNG key for the batches (needed when ``batch_size`` is set).
        callback: called as ``callback(step, loss)`` after every step (e.g. to log).

    Returns:
        ``(learned_sketch, losses)``: the sketch with trained entries and the training loss
        before each step, ``(steps,)``.

    Raises:
        TypeError: for a sketch without trainable entries (SRHT) or not a sketch.
        ValueError: as :func:`sketch_loss`, for non-positive ``steps`` / ``batch_size``, or
            ``batch_size`` without ``key``.
        ImportError: without ``optax`` and no ``optimizer`` given.
    """
    if not isinstance(matrices, jax.Array) and isinstance(matrices, (list, tuple)):
        matrices = jnp.stack([jnp.asarray(x) for x in matrices])
    matrices = _checks.as_array("matrices", matrices, ndim=3)
    _sketch_check(sketch)
    if isinstance(sketch, SRHTSketch):
        raise TypeError("`sketch` must have trainable entries; an SRHTSketch has none.")
    rank = _check_sketch_rank(matrices.shape[1:], sketch, rank, "matrices")
    steps = _checks.positive_int("steps", steps)
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)
        if batch_size > matrices.shape[0]:
            raise ValueError(
                f"`batch_size` must be at most the number of matrices ({matrices.shape[0]}), "
                f"got {batch_size}."
            )
        key = _checks.prng_key("key", key)
    if optimizer is None:
        try:
            import optax
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "learn_sketch's default optimizer needs optax: pip install 'lrjax[nn]', or "
                "pass `optimizer=`."
            ) from err
        optimizer = optax.adam(0.1)

    def loss(params, batch):
        return _loss(sketch.with_params(params), batch, rank)

    @jax.jit
    def step(params, state, batch):
        value, grads = jax.value_and_grad(loss)(params, batch)
        updates, state = optimizer.update(grads, state, params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        return params, state, value

    params = sketch.params
    state = optimizer.init(params)
    losses = []
    n_train = matrices.shape[0]
    for t in range(steps):
        if batch_size is None:
            batch = matrices
        else:
            assert key is not None  # checked above with batch_size
            key, sub = jax.random.split(key)
            batch = matrices[jax.random.choice(sub, n_train, (batch_size,), replace=False)]
        params, state, value = step(params, state, batch)
        losses.append(value)
        if callback is not None:
            callback(t, value)
    return sketch.with_params(params), jnp.stack(losses)


__all__ = [
    "CountSketch",
    "GaussianSketch",
    "SRHTSketch",
    "SparseSignSketch",
    "count_sketch",
    "gaussian_sketch",
    "learn_sketch",
    "sketch_loss",
    "sketched_lra",
    "sparse_sign_sketch",
    "srht_sketch",
]
