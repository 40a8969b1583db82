"""Knowledge-transfer losses for training a compressed network as the student of the network
it was compressed from (Lin, Ji, Chen, Tao & Luo, "Holistic CNN compression via low-rank
decomposition with knowledge transfer", TPAMI 2018; Hinton, Vinyals & Dean 2015).

Pure functions of logits and feature maps: they work with any model (Flax NNX, Linen or plain
JAX) and under ``jit``, ``vmap`` and ``grad``. The teacher's arguments are wrapped in
``stop_gradient``: a derivative reaches the student only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .. import _checks

__all__ = [
    "KnowledgeTransferLoss",
    "feature_distance",
    "knowledge_transfer_loss",
    "soft_cross_entropy",
]


def _logits_pair(student, teacher):
    student = _checks.as_array("student_logits", student)
    teacher = _checks.as_array("teacher_logits", teacher)
    if student.ndim < 1 or student.shape != teacher.shape:
        raise ValueError(
            "`student_logits` and `teacher_logits` must have the same shape (..., classes), got "
            f"{student.shape} and {teacher.shape}."
        )
    return student, jax.lax.stop_gradient(teacher)


def soft_cross_entropy(
    student_logits: Float[Array, "... k"],
    teacher_logits: Float[Array, "... k"],
    temperature: float | Array = 1.0,
) -> Array:
    """Cross-entropy of the student's softened outputs against the teacher's ("global
    knowledge"): the mean over the leading axes of
    ``-T^2 sum_k softmax(t / T)_k log softmax(s / T)_k``.

    The ``T^2`` factor keeps the gradient's scale independent of ``T`` (Hinton et al.), so the
    loss can be mixed with the label loss at a fixed weight.

    Args:
        student_logits: ``(..., K)`` logits of the student.
        teacher_logits: logits of the teacher, same shape (not differentiated).
        temperature: ``T > 0`` (traced).

    Returns:
        Scalar loss.

    Examples:
        >>> s = jnp.array([[2.0, 0.0]]); t = jnp.array([[0.0, 0.0]])
        >>> round(float(soft_cross_entropy(s, t)), 4)  # -(log p0 + log p1) / 2 at p = softmax(s)
        1.1269
    """
    s, t = _logits_pair(student_logits, teacher_logits)
    _checks.positive("temperature", temperature)
    temp = jnp.asarray(temperature, s.dtype)
    target = jax.nn.softmax(t / temp, axis=-1)
    per = -jnp.sum(target * jax.nn.log_softmax(s / temp, axis=-1), axis=-1)
    return temp * temp * jnp.mean(per)


def feature_distance(student_features: Any, teacher_features: Any) -> Array:
    """Euclidean distance between the student's and the teacher's block outputs ("local
    knowledge"): the sum over blocks of the mean over the batch of
    ``1/2 ||F_student - F_teacher||^2`` (each block's difference summed over all its non-batch
    entries).

    Args:
        student_features: an array ``(batch, ...)`` or a pytree of such arrays (one per block).
        teacher_features: the teacher's, with the same structure and shapes (not
            differentiated).

    Returns:
        Scalar loss.

    Examples:
        >>> s = [jnp.ones((2, 3)), jnp.zeros((2, 1))]; t = [jnp.zeros((2, 3)), jnp.ones((2, 1))]
        >>> float(feature_distance(s, t))  # (3 + 1) / 2
        2.0
    """
    s_leaves, s_tree = jax.tree.flatten(student_features)
    t_leaves, t_tree = jax.tree.flatten(teacher_features)
    if s_tree != t_tree or not s_leaves:  # type: ignore[operator]
        raise ValueError(
            "`student_features` and `teacher_features` must be arrays or pytrees of the same "
            f"structure with at least one array, got {s_tree} and {t_tree}."
        )
    total = jnp.zeros(())
    for i, (s, t) in enumerate(zip(s_leaves, t_leaves, strict=True)):
        s = _checks.as_array(f"student_features[{i}]", s)
        t = _checks.as_array(f"teacher_features[{i}]", t)
        if s.ndim < 1 or s.shape != t.shape:
            raise ValueError(
                f"block {i}: `student_features` and `teacher_features` must have the same "
                f"shape (batch, ...), got {s.shape} and {t.shape}."
            )
        d = (s - jax.lax.stop_gradient(t)).reshape(s.shape[0], -1)
        total = total + 0.5 * jnp.mean(jnp.sum(d * d, axis=1))
    return total


class KnowledgeTransferLoss(NamedTuple):
    """The LRDKT objective and its three parts (all scalars).

    Attributes:
        total: ``labels + local_weight * local + global_weight * global_``.
        labels: softmax cross-entropy of the student's logits on the true labels.
        local: :func:`feature_distance` of the block outputs.
        global_: :func:`soft_cross_entropy` of the softened outputs.
    """

    total: Array
    labels: Array
    local: Array
    global_: Array


def knowledge_transfer_loss(
    student_logits: Float[Array, "b k"],
    labels: Int[Array, " b"],
    teacher_logits: Float[Array, "b k"],
    student_features: Any = None,
    teacher_features: Any = None,
    *,
    local_weight: float | Array = 1.0,
    global_weight: float | Array = 1.0,
    temperature: float | Array = 1.0,
) -> KnowledgeTransferLoss:
    """LRDKT's three losses for a student (the compressed network) and its teacher (the
    network it was compressed from): cross-entropy on the labels, the Euclidean distance
    between their block outputs and the cross-entropy between their softened outputs.

    Args:
        student_logits: ``(B, K)`` logits of the student.
        labels: ``(B,)`` integer class labels in ``[0, K)``.
        teacher_logits: ``(B, K)`` logits of the teacher.
        student_features, teacher_features: the block outputs (see :func:`feature_distance`);
            both ``None`` drops the local term.
        local_weight, global_weight: weights of the local and global terms (traced).
        temperature: softening temperature of the global term.

    Returns:
        A :class:`KnowledgeTransferLoss`; differentiate ``.total``.

    Examples:
        >>> s = jnp.array([[1.0, 0.0]]); y = jnp.array([0])
        >>> out = knowledge_transfer_loss(s, y, s, [jnp.ones((1, 2))], [jnp.ones((1, 2))])
        >>> round(float(out.labels), 4), float(out.local)
        (0.3133, 0.0)
    """
    s, t = _logits_pair(student_logits, teacher_logits)
    if s.ndim != 2:
        raise ValueError(f"`student_logits` must be (batch, classes), got shape {s.shape}.")
    labels = jnp.asarray(labels)
    if labels.shape != s.shape[:1] or not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(
            f"`labels` must be {s.shape[0]} integer class labels, got {labels.dtype} of shape "
            f"{labels.shape}."
        )
    if (student_features is None) != (teacher_features is None):
        raise ValueError(
            "`student_features` and `teacher_features` must both be given or both be None."
        )
    _checks.nonnegative("local_weight", local_weight)
    _checks.nonnegative("global_weight", global_weight)
    log_p = jax.nn.log_softmax(s, axis=-1)
    label_loss = -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=-1))
    local = (
        jnp.zeros((), s.dtype)
        if student_features is None
        else feature_distance(student_features, teacher_features)
    )
    glob = soft_cross_entropy(s, t, temperature)
    total = label_loss + local_weight * local + global_weight * glob
    return KnowledgeTransferLoss(total, label_loss, local, glob)
