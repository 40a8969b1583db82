"""Kronecker-structured TT-matrices (all TT ranks 1): determinant, inverse and Cholesky
factor from the small factors (t3f's ``kronecker`` module)."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._tt import TTMatrix


def _factors(a: TTMatrix, name: str = "a") -> list[Array]:
    """The square factors ``A_k`` of ``a = A_1 ⊗ ... ⊗ A_N``, or raise naming ``a``."""
    if not isinstance(a, TTMatrix):
        raise TypeError(f"`{name}` must be a TTMatrix, got {type(a).__name__}.")
    ranks = [c.shape[-1] for c in a.cores[:-1]]
    if any(r != 1 for r in ranks):
        raise ValueError(
            f"`{name}` must be a Kronecker product (all TT ranks 1), got ranks {a.rank}; "
            "round it with tt_round(a, 1) if that is intended."
        )
    if tuple(a.row_modes) != tuple(a.col_modes):
        raise ValueError(
            f"`{name}` must have square factors (row modes = column modes), got "
            f"{a.row_modes} and {a.col_modes}."
        )
    return [c[..., 0, :, :, 0] for c in a.cores]


def kron_slogdet(a: TTMatrix) -> tuple[Float[Array, ""], Float[Array, ""]]:
    r"""``(sign, log|det|)`` of a Kronecker-structured TT-matrix (t3f's
    ``kronecker.slog_determinant``): :math:`\det(A_1 \otimes \cdots \otimes A_N) =
    \prod_k \det(A_k)^{n / n_k}` with ``n = Π n_k``, from the factors' LU.

    Raises:
        TypeError, ValueError: for a TT-matrix with a rank above 1 or non-square factors.
    """
    factors = _factors(a)
    n = math.prod(f.shape[-1] for f in factors)
    sign, logdet = jnp.ones(()), jnp.zeros(())
    for f in factors:
        s, ld = jnp.linalg.slogdet(f)
        power = n // f.shape[-1]
        sign = sign * s**power
        logdet = logdet + power * ld
    return sign, logdet


def kron_determinant(a: TTMatrix) -> Float[Array, ""]:
    """The determinant of a Kronecker-structured TT-matrix (t3f's ``kronecker.determinant``),
    ``sign * exp(log|det|)`` of :func:`kron_slogdet` (overflows as the dense one would)."""
    sign, logdet = kron_slogdet(a)
    return sign * jnp.exp(logdet)


def kron_inv(a: TTMatrix) -> TTMatrix:
    """The inverse of a Kronecker-structured TT-matrix, ``A_1^{-1} ⊗ ... ⊗ A_N^{-1}``, as a
    rank-1 TT-matrix (t3f's ``kronecker.inv``).

    Examples:
        >>> import jax.numpy as jnp
        >>> a = TTMatrix((2.0 * jnp.eye(2)[None, :, :, None], jnp.eye(3)[None, :, :, None]))
        >>> float(kron_inv(a).to_dense()[0, 0])
        0.5
    """
    return TTMatrix(tuple(jnp.linalg.inv(f)[..., None, :, :, None] for f in _factors(a)))


def kron_cholesky(a: TTMatrix) -> TTMatrix:
    """The lower Cholesky factor of a symmetric positive definite Kronecker-structured
    TT-matrix, ``L_1 ⊗ ... ⊗ L_N`` (t3f's ``kronecker.cholesky``); NaN where a factor is not
    positive definite."""
    return TTMatrix(tuple(jnp.linalg.cholesky(f)[..., None, :, :, None] for f in _factors(a)))
