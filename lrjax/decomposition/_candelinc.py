"""CANDELINC: CP with linear constraints A_n = Φ_n Ã_n, by CP-ALS on the projected tensor."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative_error
from .._sharding import partitioned
from ..linalg._unfold import mode_dot
from ..solvers._info import SolverInfo
from ..tensors import CPTensor
from ._cp import cp_als


class CandelincResult(NamedTuple):
    """Result of :func:`candelinc`: the constrained CP tensor, the coefficients ``Ã_n`` of
    each factor in its constraint basis (``A_n = Φ_n Ã_n``; ``A_n`` itself for an
    unconstrained mode) and the :class:`SolverInfo`."""

    cp: CPTensor
    coefficients: tuple[Array, ...]
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("rank", "init", "maxiter", "diff", "constrained"))
def _candelinc(x, phis, key, tol, *, rank, init, maxiter, diff, constrained):
    y, bases = x, []
    for n, phi in enumerate(phis):
        if constrained[n]:
            q, r = jnp.linalg.qr(phi)
            y = mode_dot(y, q.T, n)
            bases.append((q, r))
        else:
            bases.append(None)
    small, info = cp_als(y, rank, key=key, init=init, maxiter=maxiter, tol=tol, diff=diff)
    factors, coefficients = [], []
    for f, basis in zip(small.factors, bases, strict=True):
        if basis is None:
            factors.append(f)
            coefficients.append(f)
        else:
            q, r = basis
            factors.append(q @ f)  # unit norm: q has orthonormal columns
            coefficients.append(solve_triangular(r, f, lower=False))
    cp = CPTensor(small.weights, tuple(factors))
    error = relative_error(x, cp.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CandelincResult(cp, tuple(coefficients), info)


def candelinc(
    x: Float[Array, "*dims"],
    rank: int,
    constraints: Sequence[Float[Array, "I J"] | None],
    *,
    key: jax.Array | None = None,
    init: str = "svd",
    maxiter: int = 100,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
) -> CandelincResult:
    r"""CANDELINC: CP decomposition with each factor in a given column space.

    .. math:: \min_{\lambda, \tilde A_n} \bigl\| \mathcal{X} -
       [\![\lambda; \Phi_0 \tilde A_0, \dots, \Phi_{N-1} \tilde A_{N-1}]\!] \bigr\|_F^2

    Prior knowledge (known spectra, smooth or periodic profiles, a design matrix) restricts
    factor ``n`` to the span of ``Φ_n``. With ``Φ_n = Q_n R_n`` (QR), the objective splits
    into ``||X − P X||² + ||Y − [[λ; R_0 Ã_0, ...]]||²`` with ``Y = X ×_n Q_n^T`` and ``P``
    the projection on the constraint spaces (Carroll, Pruzansky & Kruskal), so CP-ALS
    (:func:`cp_als`) runs on the small tensor ``Y`` and the factors are mapped back: a
    constrained fit at the cost of a compressed one.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: number of components (static).
        constraints: one entry per mode: a full-column-rank ``(I_n, J_n)`` matrix ``Φ_n``, or
            ``None`` for an unconstrained mode.
        key: PRNG key, as :func:`cp_als` (needed when ``rank`` exceeds a projected mode's
            size, or for ``init="random"``).
        init: ``"svd"`` or ``"random"`` (on the projected tensor).
        maxiter: maximum ALS sweeps (static).
        tol: stopping tolerance on the change of the relative error.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``CandelincResult(cp, coefficients, info)``: ``cp`` in the full space (canonical form
        of :func:`cp_als`, every factor in its constraint space), ``coefficients[n]`` the
        ``Ã_n`` with ``cp.factors[n] = Φ_n Ã_n``, and ``info.error`` the relative error
        against ``x``.

    Raises:
        ValueError: for a wrong number of constraints, a ``Φ_n`` whose row count differs
            from ``x.shape[n]``, or as :func:`cp_als`.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_cp
        >>> phi = jnp.vander(jnp.linspace(-1, 1, 8), 3)  # quadratic profiles in mode 0
        >>> cp0 = random_cp(jax.random.key(0), (3, 5, 4), 2)
        >>> x = cp0.to_dense()
        >>> x = jnp.einsum("ij,jkl->ikl", phi, x)  # mode-0 factors are quadratics
        >>> res = candelinc(x, 2, [phi, None, None])
        >>> bool(res.info.error < 1e-2)  # float32; about 1e-8 in float64
        True

    References:
        J. D. Carroll, S. Pruzansky and J. B. Kruskal, "CANDELINC: A general approach to
        multidimensional analysis of many-way arrays with linear constraints on parameters",
        Psychometrika 45(1), 1980. Kolda & Bader (2009), Sec. 5.2.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    rank = _checks.positive_int("rank", rank)
    init = _checks.choice("init", init, ("svd", "random"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    constraints = list(constraints)
    if len(constraints) != x.ndim:
        raise ValueError(
            f"`constraints` must have one entry per mode of `x` ({x.ndim}), got {len(constraints)}."
        )
    phis, constrained, projected = [], [], []
    for n, phi in enumerate(constraints):
        if phi is None:
            phis.append(jnp.zeros((0,), x.dtype))
            constrained.append(False)
            projected.append(x.shape[n])
            continue
        phi = _checks.as_array(f"constraints[{n}]", phi, ndim=2).astype(x.dtype)
        if phi.shape[0] != x.shape[n] or phi.shape[1] > phi.shape[0]:
            raise ValueError(
                f"`constraints[{n}]` must have shape ({x.shape[n]}, J) with J <= "
                f"{x.shape[n]}, got {phi.shape}."
            )
        phis.append(phi)
        constrained.append(True)
        projected.append(phi.shape[1])
    if key is None and (init == "random" or rank > min(projected)):
        reason = "init='random'" if init == "random" else f"rank {rank} > {min(projected)}"
        raise ValueError(f"`key` must be a PRNG key when {reason}, got None.")
    return partitioned(
        _candelinc,
        x, tuple(phis), key, tol,
        rank=rank, init=init, maxiter=maxiter, diff=diff, constrained=tuple(constrained),
    )  # fmt: skip
