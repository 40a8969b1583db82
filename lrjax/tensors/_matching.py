"""Matching the components of CP tensors: the congruence coefficient and the component
permutation that maximises it (TensorLy's ``congruence_coefficient`` and
``cp_permute_factors``)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._cp import CPTensor


def _host_assignment(s) -> np.ndarray:
    """SciPy's Hungarian method on the host (one module-level function, so that JAX compiles
    the callback once per shape)."""
    from scipy.optimize import linear_sum_assignment

    s = np.asarray(s)
    if not np.all(np.isfinite(s)):  # NaN in: the identity (the score carries the NaN)
        return np.arange(s.shape[0], dtype=np.int32)
    rows, cols = linear_sum_assignment(-s)
    out = np.empty(s.shape[0], np.int32)
    out[rows] = cols
    return out


def _assignment(score: Array) -> Array:
    """The permutation ``p`` maximising ``Σ_i score[i, p[i]]`` (the Hungarian method, SciPy's
    ``linear_sum_assignment`` on the host; under ``jit`` a callback, under ``vmap`` one call
    per problem). Integer indices carry no derivative."""
    spec = jax.ShapeDtypeStruct(score.shape[:1], jnp.int32)
    return jax.pure_callback(
        _host_assignment, spec, jax.lax.stop_gradient(score), vmap_method="sequential"
    )


def _check_matrices(name: str, matrices) -> list[Array]:
    if isinstance(matrices, np.ndarray | jax.Array):
        if np.ndim(matrices) != 2:
            raise ValueError(f"`{name}` must be a matrix, got shape {np.shape(matrices)}.")
        matrices = [matrices]
    out = [jnp.asarray(m) for m in matrices]
    if not out or any(m.ndim != 2 for m in out):
        raise ValueError(
            f"`{name}` must be a matrix or a non-empty sequence of matrices, got shapes "
            f"{[m.shape for m in out]}."
        )
    return out


def congruence_coefficient(
    matrices1: Float[Array, "I R"] | Sequence[Float[Array, "I R"]],
    matrices2: Float[Array, "I R"] | Sequence[Float[Array, "I R"]],
    *,
    absolute_value: bool = True,
) -> tuple[Float[Array, ""], Int[Array, " R"]]:
    r"""Tucker's congruence coefficient between the columns of two lists of factor matrices,
    best over column permutations (TensorLy's ``metrics.congruence_coefficient``).

    The score of columns ``i`` and ``j`` is :math:`\prod_m \cos\angle(a^{(m)}_i, b^{(m)}_j)`
    (absolute values by default); the permutation ``p`` maximising
    :math:`\sum_i \mathrm{score}[i, p_i]` is found by the Hungarian method. 1 means the same
    columns up to scale (and sign, with ``absolute_value``) and order.

    Args:
        matrices1: one matrix ``(I_m, R)`` or a sequence of them.
        matrices2: as many matrices of the same shapes.
        absolute_value: score ``|cos|`` (True) or ``cos``.

    Returns:
        ``(mean score of the matched pairs, p)`` with ``p[i]`` the column of ``matrices2``
        matched to column ``i`` of ``matrices1`` (an integer array; TensorLy returns a list).
        NaN in the matrices gives a NaN score and the identity permutation.

    Raises:
        ValueError: for lists of different lengths or matrices of different shapes.

    Examples:
        >>> import jax.numpy as jnp
        >>> a = jnp.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
        >>> score, p = congruence_coefficient(a, -a[:, ::-1])
        >>> round(float(score), 6), p.tolist()
        (1.0, [1, 0])
    """
    first = _check_matrices("matrices1", matrices1)
    second = _check_matrices("matrices2", matrices2)
    shapes1, shapes2 = [m.shape for m in first], [m.shape for m in second]
    if shapes1 != shapes2:
        raise ValueError(
            f"`matrices1` and `matrices2` must have matrices of the same shapes, got "
            f"{shapes1} and {shapes2}."
        )
    score = jnp.ones((shapes1[0][1], shapes1[0][1]))
    for a, b in zip(first, second, strict=True):
        a = a / _safe_norms(a)
        b = b / _safe_norms(b)
        c = jnp.conj(a).T @ b
        score = score * (jnp.abs(c) if absolute_value else jnp.real(c))
    p = _assignment(score)
    return jnp.mean(score[jnp.arange(score.shape[0]), p]), p


def _safe_norms(a: Array) -> Array:
    norms = jnp.linalg.norm(a, axis=0)
    return jnp.where(norms == 0, 1.0, norms)


def cp_permute_factors(
    reference: CPTensor, cp: CPTensor | Sequence[CPTensor]
) -> tuple[CPTensor | list[CPTensor], list[Int[Array, " R"]]]:
    """Reorder the components of ``cp`` (or of each CP tensor of a list) to match those of
    ``reference`` best, by the congruence of their factors (TensorLy's
    ``cp_permute_factors``). The tensors are unchanged; only their component order is.

    Args:
        reference: the CP tensor whose component order is kept (lrjax's or TensorLy's).
        cp: a CP tensor of the same shape and rank, or a list of them.

    Returns:
        ``(permuted, permutations)``: the permuted CP tensor (a list of them for a list), and
        always a list of index arrays, one per tensor (TensorLy's convention);
        ``permutations[k][i]`` is the component of tensor ``k`` now at position ``i``.

    Raises:
        ValueError: for a tensor of another shape or rank.

    Examples:
        >>> import jax.numpy as jnp
        >>> ref = CPTensor(jnp.ones(2), (jnp.eye(2), jnp.eye(2)))
        >>> swapped = CPTensor(jnp.array([1.0, 2.0]), (jnp.eye(2)[:, ::-1], jnp.eye(2)[:, ::-1]))
        >>> out, perms = cp_permute_factors(ref, swapped)
        >>> perms[0].tolist(), out.weights.tolist()
        ([1, 0], [2.0, 1.0])
    """
    many = isinstance(cp, list | tuple)
    as_cp = lambda t: t if isinstance(t, CPTensor) else CPTensor(*t)  # TensorLy's CPTensor too
    reference = as_cp(reference)
    tensors = [as_cp(t) for t in cp] if isinstance(cp, list | tuple) else [as_cp(cp)]
    out, perms = [], []
    for t in tensors:
        if t.shape != reference.shape or t.rank != reference.rank:
            raise ValueError(
                f"`cp` must have the shape {reference.shape} and rank {reference.rank} of "
                f"`reference`, got shape {t.shape} and rank {t.rank}."
            )
        _, p = congruence_coefficient(reference.factors, t.factors)
        out.append(CPTensor(t.weights[p], tuple(f[:, p] for f in t.factors)))
        perms.append(p)
    return (out if many else out[0]), perms
