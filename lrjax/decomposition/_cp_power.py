"""CP decomposition by the tensor power method with deflation (general and symmetric)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative_error
from ..solvers import SolverInfo
from ..tensors import CPTensor
from ._cp import CPResult

__all__ = ["cp_power"]


def _contract_except(x, vectors, skip):
    """``x`` contracted with ``vectors[j]`` along every mode ``j != skip`` (a vector), or
    along every mode (a scalar) when ``skip`` is None."""
    y = x
    for j in reversed(range(x.ndim)):  # from the last mode, so lower axes keep their index
        if j != skip:
            y = jnp.tensordot(y, vectors[j], axes=([j], [0]))
    return y


def _unit(v):
    return v / jnp.maximum(jnp.linalg.norm(v), jnp.finfo(v.dtype).tiny)


def _power(x, vectors, n_iteration, symmetric):
    def sweep(vectors, _):
        if symmetric:
            u = _unit(_contract_except(x, vectors, 0))
            return [u] * x.ndim, None
        vectors = list(vectors)
        for k in range(x.ndim):
            vectors[k] = _unit(_contract_except(x, vectors, k))
        return vectors, None

    vectors, _ = jax.lax.scan(sweep, vectors, None, length=n_iteration)
    return vectors


@functools.partial(jax.jit, static_argnames=("rank", "n_repeat", "n_iteration", "symmetric"))
def _cp_power(x, key, *, rank, n_repeat, n_iteration, symmetric):
    n = x.ndim

    def component(residual, key):
        def start(k):
            if symmetric:
                u = _unit(jax.random.normal(k, (x.shape[0],), x.dtype))
                return [u] * n
            ks = jax.random.split(k, n)
            return [_unit(jax.random.normal(ks[j], (x.shape[j],), x.dtype)) for j in range(n)]

        def run(k):
            vs = _power(residual, start(k), n_iteration, symmetric)
            return vs, jnp.abs(_contract_except(residual, vs, None))

        candidates, scores = jax.vmap(run)(jax.random.split(key, n_repeat))
        best = jnp.argmax(scores)
        vs = _power(residual, [c[best] for c in candidates], n_iteration, symmetric)
        weight = _contract_except(residual, vs, None)
        rank_one = weight * functools.reduce(jnp.multiply.outer, vs)
        residual = residual - rank_one
        return residual, (weight, vs, relative_error(x, x - residual))

    _, (weights, factors, history) = jax.lax.scan(component, x, jax.random.split(key, rank))
    cp = CPTensor(weights, tuple(f.T for f in factors))
    error = history[-1]
    info = SolverInfo(jnp.asarray(rank, jnp.int32), error, jnp.isfinite(error), history)
    return CPResult(cp, info)


def cp_power(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    key: Array,
    n_repeat: int = 10,
    n_iteration: int = 10,
    symmetric: bool = False,
) -> CPResult:
    r"""CP decomposition by the tensor power method with deflation.

    One rank-one term at a time: from ``n_repeat`` random unit starts, ``n_iteration`` power
    sweeps (each factor vector replaced by the tensor contracted with the others, then
    normalised; with ``symmetric=True`` one vector for every mode), keep the start with the
    largest ``|X(u_1, ..., u_N)|``, run ``n_iteration`` more sweeps from it, set the weight
    :math:`\lambda = X(u_1, \dots, u_N)` and subtract :math:`\lambda\, u_1 \circ \cdots \circ
    u_N` before the next term. Exact for orthogonally decomposable tensors (Anandkumar et al.
    2014) and a fast, cheap start otherwise; :func:`cp_als` fits general tensors better.
    The loops have fixed lengths, so the function runs under ``jit`` and ``vmap``, and its
    derivative is that of the unrolled sweeps.

    Args:
        x: tensor with ``N >= 2`` modes (all of one size when ``symmetric``).
        rank: number of terms (static).
        key: PRNG key of the random starts.
        n_repeat: random starts per term (static; TensorLy's ``n_repeat``).
        n_iteration: power sweeps per start (static; TensorLy's ``n_iteration``).
        symmetric: one vector for all modes (TensorLy's
            ``symmetric_parafac_power_iteration``; static).

    Returns:
        ``CPResult(cp, info)``: ``cp.weights`` are the signed :math:`\lambda`, factors have
        unit columns; ``info.history[r]`` is the relative error after ``r + 1`` terms,
        ``info.n_iter`` the number of terms.

    Raises:
        ValueError: for fewer than 2 modes, unequal modes with ``symmetric``, NaN/inf in an
            eager call, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> u = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (5, 2)))[0]
        >>> x = 3 * jnp.einsum("i,j,k->ijk", u[:, 0], u[:, 0], u[:, 0]) + jnp.einsum(
        ...     "i,j,k->ijk", u[:, 1], u[:, 1], u[:, 1])
        >>> res = cp_power(x, 2, key=jax.random.key(1), symmetric=True)
        >>> [round(float(w), 4) for w in res.cp.weights], float(res.info.error) < 1e-5
        ([3.0, 1.0], True)

    References:
        A. Anandkumar, R. Ge, D. Hsu, S. M. Kakade, M. Telgarsky, "Tensor decompositions for
        learning latent variable models", JMLR 15, 2014. TensorLy's
        ``parafac_power_iteration`` / ``symmetric_parafac_power_iteration``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    rank = _checks.positive_int("rank", rank)
    key = _checks.prng_key("key", key)
    n_repeat = _checks.positive_int("n_repeat", n_repeat)
    n_iteration = _checks.positive_int("n_iteration", n_iteration)
    if not isinstance(symmetric, bool):
        raise ValueError(f"`symmetric` must be True or False, got {symmetric!r}.")
    if symmetric and len(set(x.shape)) != 1:
        raise ValueError(f"`symmetric=True` needs every mode of one size, got shape {x.shape}.")
    return _cp_power(
        x, key, rank=rank, n_repeat=n_repeat, n_iteration=n_iteration, symmetric=symmetric
    )
