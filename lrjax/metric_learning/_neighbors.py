"""Nearest-neighbour tools of metric learning: triplet constraints from class labels and
jitted k-nearest-neighbour classification."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float, Int

from .. import _checks
from ._common import check_labels, sq_distances

_BATCH = 256  # rows of test (or anchor) samples whose distances are formed at once


@functools.partial(jax.jit, static_argnames=("n_targets", "n_impostors"))
def _triplets(x, labels, *, n_targets, n_impostors):
    n = x.shape[0]
    idx = jnp.arange(n)

    def one(i):
        d = sq_distances(x[i][None], x)[0]
        same = (labels == labels[i]) & (idx != i)
        _, targets = lax.top_k(-jnp.where(same, d, jnp.inf), n_targets)
        _, impostors = lax.top_k(-jnp.where(labels != labels[i], d, jnp.inf), n_impostors)
        t = jnp.repeat(targets, n_impostors)
        k = jnp.tile(impostors, n_targets)
        return jnp.stack([jnp.full_like(t, i), t, k], axis=1)

    return lax.map(one, idx, batch_size=_BATCH).reshape(-1, 3)


def triplets_from_labels(
    x: Float[Array, "n d"],
    labels: Int[Array, " n"],
    *,
    n_targets: int = 3,
    n_impostors: int = 3,
) -> Int[Array, "m 3"]:
    """Triplet constraints in the style of LMNN: for every sample, its ``n_targets`` nearest
    samples of the same class (Euclidean distance in ``x``) paired with each of its
    ``n_impostors`` nearest samples of other classes.

    Args:
        x: ``(n, D)`` samples.
        labels: ``(n,)`` integer class labels.
        n_targets, n_impostors: neighbours per sample (static).

    Returns:
        ``(n * n_targets * n_impostors, 3)`` int32 rows ``(anchor, similar, dissimilar)``.

    Raises:
        ValueError: when a class has at most ``n_targets`` samples, or fewer than
            ``n_impostors`` samples lie outside a class.
    """
    x = _checks.as_array("x", x, ndim=2)
    labels = check_labels(labels, x.shape[0])
    n_targets = _checks.positive_int("n_targets", n_targets)
    n_impostors = _checks.positive_int("n_impostors", n_impostors)
    if _checks.is_concrete(labels):
        classes, sizes = np.unique(np.asarray(labels), return_counts=True)
        small = classes[sizes <= n_targets]
        if len(small):
            raise ValueError(
                f"`labels`: class {small[0]} has {sizes[sizes <= n_targets][0]} samples; every "
                f"class needs more than n_targets={n_targets}."
            )
        if len(labels) - sizes.max() < n_impostors:
            raise ValueError(
                f"`labels`: {len(labels) - sizes.max()} samples lie outside the largest class, "
                f"fewer than n_impostors={n_impostors}."
            )
    return _triplets(x, labels, n_targets=n_targets, n_impostors=n_impostors).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("k",))
def _knn(train, train_labels, test, *, k):
    def one(row):
        d = sq_distances(row[None], train)[0]
        _, nearest = lax.top_k(-d, k)
        votes = train_labels[nearest]
        counts = jnp.sum(votes[:, None] == votes[None, :], axis=1)
        return votes[jnp.argmax(counts)]  # first maximum: ties go to the nearer class

    return lax.map(one, test, batch_size=_BATCH)


def knn_predict(
    train: Float[Array, "n d"],
    train_labels: Int[Array, " n"],
    test: Float[Array, "m d"],
    *,
    k: int = 1,
) -> Int[Array, " m"]:
    """k-nearest-neighbour classification under the Euclidean distance (embed both sets with
    a learnt transform first to use a learnt metric). Majority vote among the ``k`` nearest
    training samples, ties to the class of the nearest one; distances are formed for
    256 test samples at a time.

    Args:
        train: ``(n, D)`` training samples.
        train_labels: ``(n,)`` integer labels.
        test: ``(m, D)`` samples to classify.
        k: number of neighbours (static, at most ``n``).

    Returns:
        ``(m,)`` predicted labels.
    """
    train = _checks.as_array("train", train, ndim=2)
    test = _checks.as_array("test", test, ndim=2)
    train_labels = check_labels(train_labels, train.shape[0], "train_labels")
    if test.shape[1] != train.shape[1]:
        raise ValueError(
            f"`test` must have {train.shape[1]} columns like `train`, got shape {test.shape}."
        )
    k = _checks.positive_int("k", k)
    if k > train.shape[0]:
        raise ValueError(
            f"`k` must be at most the number of training samples ({train.shape[0]}), got {k}."
        )
    return _knn(train, train_labels, test, k=k)


def knn_accuracy(
    train: Float[Array, "n d"],
    train_labels: Int[Array, " n"],
    test: Float[Array, "m d"],
    test_labels: Int[Array, " m"],
    *,
    k: int = 1,
) -> Array:
    """Fraction of ``test`` samples that :func:`knn_predict` classifies as ``test_labels``
    (NaN when a sample is not finite, which only a traced call can pass)."""
    predicted = knn_predict(train, train_labels, test, k=k)
    test_labels = check_labels(test_labels, predicted.shape[0], "test_labels")
    accuracy = jnp.mean((predicted == test_labels).astype(jnp.result_type(float)))
    # Under jit nothing can raise: a non-finite sample makes the accuracy NaN, not a number.
    finite = jnp.all(jnp.isfinite(jnp.asarray(train))) & jnp.all(jnp.isfinite(jnp.asarray(test)))
    return jnp.where(finite, accuracy, jnp.nan)
