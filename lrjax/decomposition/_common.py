"""Helpers shared by the CP-family decompositions (CP-ALS, nonnegative CP, CP-OPT,
PARAFAC2, INDSCAL, DEDICOM, CANDELINC), the TT/TR sweeps and :mod:`lrjax.distributed`.

The module is private; its names are public so that other subpackages may import them as
declared internal entries (see ``tests/test_imports.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _checks, _random
from .._numeric import expanded_relative_error, expansion_pays, relative, relative_error
from ..linalg import mttkrp
from ..linalg._gemm import factor_gemm
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._unfold import mode_dot, unfold
from ..tensors import CPTensor
from ..tensors._base import letters


def split_step(mat: Array, rank: int) -> tuple[Array, Array]:
    """``mat ≈ u @ (u.T @ mat)`` with ``u`` the ``rank`` leading left singular vectors (one
    step of the TT-SVD and TR-SVD sweeps)."""
    u = leading_left_singular_vectors(mat, rank)
    return u, factor_gemm(jnp.conj(u), mat, contract=0)


def solve_gram(gram: Array, rhs: Array) -> Array:
    """``rhs gram^{-1}`` for a symmetric PSD Gram matrix (a ridge of ``1e-12 max(tr, 1)``
    keeps it defined when a factor is rank deficient): the least-squares update of one factor
    from its MTTKRP ``rhs``."""
    ridge = 1e-12 * jnp.maximum(jnp.trace(gram), 1.0) * jnp.eye(gram.shape[0], dtype=gram.dtype)
    return jnp.linalg.solve(gram + ridge, rhs.T).T


def hals_columns(a: Array, m: Array, v: Array) -> Array:
    """One pass of HALS column updates ``a_r <- max(0, a_r + (m_r - A v_r) / v_rr)`` for
    ``min_{A >= 0} ||X - A B^T||`` with ``m = X B`` and ``v = B^T B``."""
    tiny = jnp.finfo(a.dtype).tiny

    def column(r, a):
        col = a[:, r] + (m[:, r] - a @ v[:, r]) / jnp.maximum(v[r, r], tiny)
        return a.at[:, r].set(jnp.maximum(col, 0.0))

    return jax.lax.fori_loop(0, a.shape[1], column, a)


def safe_norms(a: Array) -> Array:
    """Column norms of ``a``, with 1 in place of 0 (safe to divide by)."""
    norms = jnp.linalg.norm(a, axis=0)
    return jnp.where(norms == 0, 1.0, norms)


def scale_into_last(factors) -> tuple[Array, ...]:
    """Unit-norm columns in factors ``0..N-2``, their norms moved into the last factor (the
    form :func:`canonical_cp` expects)."""
    out, scale = [], jnp.ones((), factors[-1].dtype)
    for f in factors[:-1]:
        norms = safe_norms(f)
        out.append(f / norms)
        scale = scale * norms
    return (*out, factors[-1] * scale)


def largest_positive(f: Array) -> tuple[Array, Array]:
    """``f`` with every column scaled by the sign of its largest-magnitude entry (+1 for a
    zero column), and those signs: the entry becomes positive. For complex ``f`` the sign is
    the entry's phase ``p`` and the column is scaled by ``p̄`` (the entry becomes real
    positive); multiplying another factor's column by ``p`` keeps the model."""
    pick = jnp.argmax(jnp.abs(f), axis=0)
    sign = jnp.sign(f[pick, jnp.arange(f.shape[1])])
    sign = jnp.where(sign == 0, 1.0, sign).astype(f.dtype)
    return f * jnp.conj(sign), sign


def real_dtype(x: Array):
    """The real dtype of ``x``'s precision (``float64`` for ``complex128``)."""
    return jnp.finfo(x.dtype).dtype


def squared_norm(x: Array) -> Array:
    """``||x||_F^2``, real for complex ``x``."""
    if jnp.iscomplexobj(x):
        return jnp.sum(jnp.real(x * jnp.conj(x)))
    return jnp.sum(x * x)


def canonical_cp(factors: tuple[Array, ...]) -> CPTensor:
    """Unit-norm columns, weights sorted descending, largest entry of factors 0..N-2 positive."""
    out = list(factors)
    weights = jnp.linalg.norm(out[-1], axis=0)
    out[-1] = out[-1] / safe_norms(out[-1])
    total_sign = jnp.ones_like(weights)
    for n in range(len(out) - 1):
        out[n], sign = largest_positive(out[n] / safe_norms(out[n]))
        total_sign = total_sign * sign
    out[-1] = out[-1] * total_sign
    order = jnp.argsort(-weights)
    return CPTensor(weights[order], tuple(f[:, order] for f in out))


def init_factors(x, key, rank, init):
    """Initial CP factors: leading left singular vectors of each unfolding (``init="svd"``,
    random unit columns beyond the mode size) or random unit columns (``"random"``)."""
    if init != "svd":
        return random_factors(key, x.shape, rank, x.dtype)
    factors = []
    keys = jax.random.split(key, x.ndim) if key is not None else [None] * x.ndim
    for n in range(x.ndim):
        size = x.shape[n]
        k = min(rank, size)
        u = leading_left_singular_vectors(unfold(x, n), k)
        if k < rank:
            extra = _random.normal(keys[n], (size, rank - k), dtype=x.dtype)
            u = jnp.concatenate([u, extra / safe_norms(extra)], axis=1)
        factors.append(u)
    return tuple(factors)


def random_factors(key, shape: tuple[int, ...], rank: int, dtype) -> tuple[Array, ...]:
    """Random Gaussian CP factors with unit columns, one per mode of ``shape`` (``init="random"``
    of the CP solvers: the same key gives the same start for a dense or a sparse tensor)."""
    keys = jax.random.split(key, len(shape))
    out = []
    for k, size in zip(keys, shape, strict=True):
        u = _random.normal(k, (size, rank), dtype=dtype)
        out.append(u / safe_norms(u))
    return tuple(out)


def is_cp_start(init) -> bool:
    """Whether ``init`` is a warm start (a CP tensor, lrjax's or TensorLy's) rather than the
    name of an initialisation."""
    return isinstance(init, CPTensor) or (
        type(init).__module__.startswith("tensorly")
        and hasattr(init, "weights")
        and hasattr(init, "factors")
    )


def mode_index(name: str, m, n: int) -> int:
    """A mode index of an ``n``-way tensor (negative counts from the end), or raise."""
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or not -n <= m < n:
        raise ValueError(f"`{name}` must be a mode index of x (ndim {n}), got {m!r}.")
    return int(m) % n


def mode_indices(name: str, modes, n: int) -> tuple[int, ...]:
    """``modes`` (one index, or a sequence or 1-D array of them) as mode indices of an
    ``n``-way tensor, in the given order, or raise naming ``name``."""
    if isinstance(modes, int | np.integer) and not isinstance(modes, bool):
        modes = (modes,)
    if not isinstance(modes, Sequence | np.ndarray) or isinstance(modes, str):
        raise ValueError(f"`{name}` must be a sequence of mode indices, got {modes!r}.")
    return tuple(mode_index(name, m, n) for m in modes)


def cp_start(
    init, shape: tuple[int, ...], rank: int, dtype, *, nonneg: bool = False, into: int = -1
):
    """The factors of a warm start ``init`` (an lrjax or TensorLy CP tensor of ``shape`` and
    ``rank``) in ``dtype``, its weights folded into factor ``into`` (the last). Raises
    ``ValueError`` naming ``init`` for another shape or rank, a non-finite entry or
    (``nonneg``) a negative one, when concrete."""
    weights = jnp.asarray(init.weights)
    factors = [jnp.asarray(f) for f in init.factors]
    matrices = weights.ndim == 1 and all(f.ndim == 2 for f in factors)
    if (
        not matrices
        or tuple(f.shape[0] for f in factors) != tuple(shape)
        or {f.shape[1] for f in factors} | {weights.shape[0]} != {rank}
    ):
        raise ValueError(
            f"`init` must be a CPTensor of shape {tuple(shape)} and rank {rank}, got factors "
            f"of shapes {[f.shape for f in factors]} and weights of shape {weights.shape}."
        )
    for n, a in enumerate([weights, *factors]):
        name = "init.weights" if n == 0 else f"init.factors[{n - 1}]"
        _checks.finite(name, a)
        if nonneg and _checks.is_concrete(a) and float(_checks.concrete_value(jnp.min, a)) < 0:
            raise ValueError(f"`{name}` must be non-negative, got a negative entry.")
    factors[into] = factors[into] * weights
    return tuple(f.astype(dtype) for f in factors)


def cp_init(
    name: str,
    init,
    x: Array | jax.ShapeDtypeStruct,
    rank: int,
    *,
    nonneg: bool = False,
    named=("svd", "random"),
    into: int = -1,
):
    """``(start, init)`` of a CP solver's ``init`` argument: ``(None, name)`` for a named
    initialisation (one of ``named``), ``(factors, "given")`` for a warm start
    (:func:`cp_start`, its weights folded into factor ``into``)."""
    if is_cp_start(init):
        return cp_start(init, x.shape, rank, x.dtype, nonneg=nonneg, into=into), "given"
    return None, _checks.choice(name, init, named)


def check_init_key(key, init: str, rank: int, shape: tuple[int, ...]) -> None:
    """Raise when a named initialisation needs ``key`` (``"random"``, or ``"svd"`` with
    ``rank`` above a mode's size) and none was given."""
    if key is None and (init == "random" or (init == "svd" and rank > min(shape))):
        reason = "init='random'" if init == "random" else f"rank {rank} > min(x.shape)"
        raise ValueError(f"`key` must be a PRNG key when {reason}, got None.")


def dense_inner(x: Array, factors) -> Array:
    """``<x, a_r^(0) ∘ ... ∘ a_r^(N-1)>`` for every component ``r``: ``(R,)``."""
    idx = letters(len(factors), skip="z")
    return jnp.einsum(idx + "," + ",".join(c + "z" for c in idx) + "->z", x, *factors)


def balance(factors, inner: Array) -> tuple[Array, ...]:
    """Scale the factor columns by the least-squares weights ``λ`` of the model against data
    whose inner products with the components are ``inner`` (``G λ = inner``, ``G`` the
    Hadamard product of the Gram matrices), ``|λ|^(1/N)`` in every mode and the sign in the
    first: the start cp_opt's Gauss-Newton steps like."""
    n = len(factors)
    gram = functools.reduce(jnp.multiply, [f.T @ f for f in factors])
    ridge = 1e-12 * jnp.trace(gram) * jnp.eye(gram.shape[0], dtype=gram.dtype)
    lam = jnp.linalg.solve(gram + ridge, inner)
    root = jnp.abs(lam) ** (1.0 / n)
    out = [f * root for f in factors]
    out[0] = out[0] * jnp.where(lam < 0, -1.0, 1.0)
    return tuple(out)


def spread_norms(factors) -> tuple[Array, ...]:
    """The same CP model with every component's norm spread evenly over the modes (the
    balanced scaling the damped Gauss-Newton steps prefer)."""
    n = len(factors)
    norms = [safe_norms(f) for f in factors]
    root = functools.reduce(jnp.multiply, norms) ** (1.0 / n)
    return tuple(f / s * root for f, s in zip(factors, norms, strict=True))


def dense_cp(factors) -> Array:
    """Dense tensor of unweighted factors (the scale sits in the last one)."""
    return CPTensor(jnp.ones(factors[0].shape[1], factors[0].dtype), tuple(factors)).to_dense()


def cp_relative_error(x: Array, cp: CPTensor, norm_x_sq: Array | None = None) -> Array:
    """``||x - cp||_F / ||x||_F``. On float64 tensors of ``2^20`` entries or more, from
    ``<x, cp>`` (one MTTKRP: a GEMM pass over ``x``) and the factors' Gram matrices, without
    the dense reconstruction (~30 ms on 200^3 float64, most of it page faults on the 64 MB
    result); from the dense difference where the expansion's cancellation would cost
    accuracy (``_numeric.expanded_relative_error``), and always for smaller or float32
    tensors (their programs build the dense difference alone). ``norm_x_sq`` is
    ``||x||_F^2`` when the caller has it."""
    dense = lambda: relative_error(x, cp.to_dense())
    if not expansion_pays(x.size, x.dtype) or jnp.iscomplexobj(x):
        return dense()
    norm_sq = jnp.sum(x * x) if norm_x_sq is None else norm_x_sq

    def residual_sq():
        inner = jnp.sum(mttkrp(x, cp.factors, 0) * cp.factors[0] * cp.weights)
        # not cp.norm() ** 2: its square root has no derivative at a zero model
        gram = functools.reduce(jnp.multiply, [f.T @ f for f in cp.factors])
        return norm_sq - 2 * inner + cp.weights @ gram @ cp.weights

    return expanded_relative_error(residual_sq, norm_sq, x.size, x.dtype, dense)


def weighted_error(x, w, x_hat):
    """``sqrt(Σ w |x − x̂|² / Σ w |x|²)``: the relative error under observation weights."""
    sq = (lambda a: jnp.real(a * jnp.conj(a))) if jnp.iscomplexobj(x) else (lambda a: a * a)
    return relative(jnp.sum(w * sq(x - x_hat)), jnp.sum(w * sq(x)))


def spectral_norm(m: Array, n_iter: int = 30) -> Array:
    """Largest singular value by power iteration on ``m^T m`` (deterministic start)."""
    v = jnp.cos(jnp.arange(m.shape[-1], dtype=m.dtype) + 1.0)

    tiny = jnp.finfo(m.dtype).tiny

    def body(_, v):
        w = m.T @ (m @ v)
        return w / jnp.maximum(jnp.linalg.norm(w), tiny)  # the zero matrix stays finite

    v = jax.lax.fori_loop(0, n_iter, body, v / jnp.linalg.norm(v))
    return jnp.linalg.norm(m @ v)


def project(x: Array, factors, modes) -> Array:
    """``x ×_m U_m^T`` for every ``m`` in ``modes`` (the mode keeps its place).

    The first and last modes, when asked for, are contracted first as plain GEMMs on ``x``
    viewed as a matrix (no transposed copy of the big tensor); the middle ones then act on
    the already smaller tensor.
    """
    modes = sorted(set(modes))
    last = x.ndim - 1
    if last in modes:
        u = factors[last]
        x = (x.reshape(-1, x.shape[last]) @ u).reshape(*x.shape[:last], u.shape[1])
        modes.remove(last)
    for m in sorted(modes, key=lambda m: (m != 0, -m)):  # mode 0 next, then the middle ones
        x = mode_dot(x, factors[m].T, m)  # mode 0: one row-major GEMM (see mode_dot)
    return x


def observation_weights(x: Array, weights, mask, *, at_most_one: str | None = None) -> Array | None:
    """Validate ``weights`` / ``mask`` against ``x`` and return float weights (or None);
    ``at_most_one`` names a routine whose EM step needs weights in ``[0, 1]`` (checked when
    concrete)."""
    if weights is not None and mask is not None:
        raise ValueError("Give `weights` or `mask`, not both.")
    if mask is not None:
        weights = _checks.boolean_mask("mask", mask, x.shape).astype(real_dtype(x))
    elif weights is not None:
        weights = _checks.as_array("weights", weights)
        if weights.shape != x.shape:
            raise ValueError(
                f"`weights` must have the shape of `x` {x.shape}, got {weights.shape}."
            )
        if _checks.is_concrete(weights):
            w_min = float(_checks.concrete_value(jnp.min, weights))
            if w_min < 0:
                raise ValueError(f"`weights` must be non-negative, got minimum {w_min}.")
        weights = weights.astype(real_dtype(x))
    if weights is not None and _checks.is_concrete(weights):
        w_max = float(_checks.concrete_value(jnp.max, weights))
        if w_max == 0:
            raise ValueError("`weights` (or `mask`) must not be all zero.")
        if at_most_one is not None and w_max > 1:
            raise ValueError(
                f"`weights` must lie in [0, 1] for {at_most_one}, got maximum {w_max}."
            )
    return weights
