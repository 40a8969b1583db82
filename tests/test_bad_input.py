"""Bad input, routine by routine, over the whole public API.

Every public callable of every namespace (their ``__all__``) is either probed here or listed in
``EXEMPT`` with the reason; a new public routine fails ``test_every_public_routine_is_probed``
until it is one or the other. Each probe is a bad call that must end in a ``ValueError`` naming
the argument (no obscure error from deep inside JAX, no silent garbage), or, for routines
documented to propagate NaN (elementwise proxes and metrics), a result that carries the NaN. A
per-test timeout turns a hang into a failure.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse

import lrjax
import lrjax.metrics
from lrjax import imaging, linalg, metrics, prox, solvers, testing

pytestmark = pytest.mark.timeout(120, method="thread")

RNG = np.random.default_rng(0)
T3 = RNG.standard_normal((5, 4, 3))
M = RNG.standard_normal((6, 5))
SQ3 = RNG.standard_normal((4, 4, 3))
NAN, INF = float("nan"), float("inf")
OBSERVED = np.arange(30).reshape(6, 5) % 4 != 0  # entry (0, 1) is observed
LAB6 = np.array([0, 0, 1, 1, 2, 2])
TRIP6 = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 4], [3, 2, 5], [4, 5, 0], [5, 4, 1]])


@dataclasses.dataclass(frozen=True)
class Spec:
    """How to call a routine, and its bad calls.

    ``call(x, **kw)`` calls it on the good input ``x`` (``good()``); ``arg`` is the name its
    errors must use for ``x``; ``nonfinite`` is ``"raise"`` (an eager ValueError) or
    ``"propagate"`` (NaN in the result); ``bad_shapes`` are shapes of the wrong number of
    dimensions; ``key`` says whether ``call`` takes a ``key=``; ``bad`` maps an argument name
    to values of it that must be rejected (a ValueError whose message names it);
    ``real_only`` asks complex input to be rejected; ``empty`` says what an empty input gives.
    """

    call: Callable[..., Any]
    good: Callable[[], Any]
    arg: str
    nonfinite: str = "raise"
    bad_shapes: tuple = ()
    key: bool = False
    bad: dict = dataclasses.field(default_factory=dict)
    real_only: bool = True
    empty: str = "raise"  # "raise", "passthrough" (an empty result of the same shape), "skip"
    jit: bool = True  # runs under jit (eager-only routines say so in their docs)


KEY = jax.random.key(0)
t3, m2, sq3 = (lambda: T3), (lambda: M), (lambda: SQ3)
neg_tol = {"tol": [-1.0, NAN]}
iters = {"maxiter": [0, -3, 2.5]}
vec = lambda: RNG.standard_normal(7)

SPECS: dict[str, Spec] = {
    # ---------------------------------------------------------------- decompositions
    "cp_als": Spec(
        lambda x, **kw: lrjax.cp_als(x, kw.pop("rank", 2), **kw), t3, "x", bad_shapes=((5,),),
        key=True, bad={"rank": [0, -1, 2.5], **iters, **neg_tol, "init": ["qr"]}, real_only=False,
    ),
    "nmf": Spec(
        lambda x, **kw: lrjax.nmf(x, kw.pop("rank", 2), **{"key": KEY, **kw}),
        lambda: np.abs(M), "m", bad_shapes=((5,), (2, 3, 4)), key=True,
        bad={"rank": [0, -1, 2.5], **iters, **neg_tol},
    ),
    "sparse_pca": Spec(
        lambda x, **kw: lrjax.sparse_pca(x, kw.pop("rank", 2), **kw), m2, "m",
        bad_shapes=((5,), (2, 3, 4)), bad={"rank": [0, -1, 7], **iters, **neg_tol, "reg": [-1.0]},
    ),
    "compressed_factorization": Spec(
        lambda x, **kw: lrjax.compressed_factorization(
            x, np.ones((x.shape[0] if x.ndim else 1, 9)), kw.pop("rank", 2),
            **{"key": KEY, **kw},
        ),
        lambda: np.abs(M), "y", bad_shapes=((5,), (2, 3, 4)), key=True,
        bad={"rank": [0, -1], **iters, **neg_tol, "reg": [-0.1, 1.0], "method": ["svd"],
             "recovery_iters": [0]},
    ),
    "cp_nonneg": Spec(
        lambda x, **kw: lrjax.cp_nonneg(x, kw.pop("rank", 2), **{"key": KEY, **kw}),
        lambda: np.abs(T3), "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0], **iters, **neg_tol},
    ),
    "cp_opt": Spec(
        lambda x, **kw: lrjax.cp_opt(x, kw.pop("rank", 2), **kw), t3, "x", bad_shapes=((5,),),
        key=True, bad={"rank": [0], **iters, **neg_tol, "method": ["newton"]},
    ),
    "tucker_hooi": Spec(
        lambda x, **kw: lrjax.tucker_hooi(x, kw.pop("ranks", 2), **kw), t3, "x",
        bad_shapes=((5,),), key=True,
        bad={"ranks": [0, (2, 2), (6, 2, 2), (2, -1, 2)], **iters, **neg_tol,
             "modes": [(0, 0), (3,), (), "01", (1.5,)], "fixed": [[np.eye(5)], {0: np.ones((4, 2))},
             {7: np.eye(5)[:, :2]}, {0: np.ones((5, 2))}],
             "mask": [np.ones((5, 4)), np.zeros((5, 4, 3))], "weights": [np.ones((5, 4)), -np.ones((5, 4, 3)), 2 * np.ones((5, 4, 3))]},
    ),
    "hosvd": Spec(
        lambda x, **kw: lrjax.hosvd(x, kw.pop("ranks", 2)), t3, "x", bad_shapes=((5,),),
        bad={"ranks": [0, (2, 2), (6, 2, 2)]},
    ),
    "tt_svd": Spec(
        lambda x, **kw: lrjax.tt_svd(x, kw.pop("max_rank", 2)), t3, "x", bad_shapes=((5,),),
        bad={"max_rank": [0, (2, 2, 2, 2, 2), -1]}, real_only=False,
    ),
    "tt_cross": Spec(
        lambda x, **kw: lrjax.tt_cross(x, kw.pop("max_rank", 2), **{"key": KEY, **kw}), t3, "x",
        bad_shapes=((5,),), key=True,
        bad={"max_rank": [0, -1], **iters, **neg_tol, "shape": [(5, 4, 2)]},
    ),
    "tt_oi": Spec(
        lambda x, **kw: lrjax.tt_oi(x, kw.pop("max_rank", 2), **kw), t3, "x", bad_shapes=((5,),),
        bad={"max_rank": [0, (2, 2, 2, 2, 2), -1], **iters, **neg_tol, "diff": ["forward"]},
    ),
    "cmtf": Spec(
        lambda x, **kw: lrjax.cmtf(x, kw.pop("y", np.ones((5, 2))), kw.pop("rank", 2), **kw), t3, "x",
        bad_shapes=((5,),), key=True,
        bad={"y": [np.ones((4, 2)), np.ones(5)], "rank": [0], "init": ["nndsvd"],
             "mask_x": [np.ones((5, 4), bool)], "mask_y": [np.ones((5, 3), bool)], **iters, **neg_tol},
    ),
    "cp_apr": Spec(
        lambda x, **kw: lrjax.cp_apr(x, kw.pop("rank", 2), **{"key": KEY, **kw}),
        lambda: np.abs(T3), "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "inner": [0], "kappa": [-1.0], "eps": [0.0], **iters, **neg_tol},
    ),
    "cp_complete": Spec(
        # the observations as a sparse tensor with every entry stored (nse static: also under jit)
        lambda x, **kw: lrjax.cp_complete(
            sparse.BCOO.fromdense(jnp.asarray(x), nse=int(np.size(x))), kw.pop("rank", 2),
            **{"key": KEY, "maxiter": 20, **kw},
        ),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "init": ["svd"], **iters, **neg_tol},
    ),
    "poisson_nll": Spec(
        lambda x, **kw: lrjax.decomposition.poisson_nll(x, np.abs(T3) + 0.1, **kw), lambda: np.abs(T3),
        "x", nonfinite="propagate", bad_shapes=((5,),), empty="skip",
    ),
    "cp_randomized": Spec(
        lambda x, **kw: lrjax.cp_randomized(x, kw.pop("rank", 2), **{"key": KEY, "n_samples": 8, **kw}),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "n_samples": [0, 1], "init": ["nndsvd"], "sampling": ["stratified"],
             **iters, **neg_tol},
    ),
    "cp_power": Spec(
        lambda x, **kw: lrjax.cp_power(x, kw.pop("rank", 2), **{"key": KEY, **kw}), t3, "x",
        bad_shapes=((5,),),
        key=True, bad={"rank": [0, 2.5], "n_repeat": [0], "n_iteration": [-1]},
    ),
    "cp_regression": Spec(
        lambda x, **kw: lrjax.cp_regression(x, kw.pop("y", np.ones(5)), kw.pop("rank", 2), **kw),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "reg": [-1.0, NAN], "y": [np.ones(4), np.ones((3, 2))],
             "init": ["svd2"], **iters, **neg_tol},
    ),
    "tucker_regression": Spec(
        lambda x, **kw: lrjax.tucker_regression(x, kw.pop("y", np.ones(5)), kw.pop("ranks", 2), **kw),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"ranks": [0, 9], "reg": [-1.0, NAN], "y": [np.ones(4)], "init": ["hosvd"], **iters,
             **neg_tol},
    ),
    "regression_predict": Spec(
        lambda x, **kw: lrjax.regression_predict(x, kw.pop("weight", np.ones((4, 3, 2)))), t3, "x",
        nonfinite="propagate", bad_shapes=((5,),), bad={"weight": [np.ones((3, 4, 2))]},
        empty="skip",
    ),
    "congruence_coefficient": Spec(
        lambda x, **kw: lrjax.metrics.congruence_coefficient(x, kw.pop("matrices2", x), **kw), m2,
        "matrices1", nonfinite="propagate", bad_shapes=((6,), (2, 3, 4)),
        bad={"matrices2": [np.ones((6, 4)), [np.ones((6, 5)), np.ones((3, 5))]]}, real_only=False,
        empty="skip",
    ),
    "tucker_nonneg": Spec(
        lambda x, **kw: lrjax.tucker_nonneg(x, kw.pop("ranks", 2), **{"key": KEY, **kw}),
        lambda: np.abs(T3), "x", bad_shapes=((5,),), key=True,
        bad={"ranks": [0, 9], "maxiter": [0, 2.5], **neg_tol, "eps": [0.0],
             "method": ["als"], "inner": [0], "core_steps": [0]},
    ),
    "tt_matrix_svd": Spec(
        lambda x, **kw: lrjax.tt_matrix_svd(
            x, kw.pop("max_rank", 2), **{"row_modes": (2, 3), "col_modes": (2, 2), **kw}
        ),
        lambda: RNG.standard_normal((6, 4)), "x", bad_shapes=((5, 4),),
        bad={"max_rank": [0, -1], "row_modes": [(2, 2), (0, 6)], "col_modes": [(4,)]},
    ),
    "tr_svd": Spec(
        lambda x, **kw: lrjax.tr_svd(x, kw.pop("rank", 2), **kw), t3, "x", bad_shapes=((5,),),
        bad={"rank": [0, 2.5, (2, 2, 2, 3), (2, 2)], "mode": [3, -1, 1.0]},
    ),
    "tr_als": Spec(
        lambda x, **kw: lrjax.tr_als(
            x, kw.pop("rank", 2), **{"key": KEY, "init": "random", **kw}
        ), t3, "x",
        bad_shapes=((5,),), key=True,
        bad={"rank": [0, (2, 2, 2, 3)], "init": ["hosvd"], "solve": ["qr"], "n_samples": [0, 2.5],
             "sampling": ["stratified"], **iters, **neg_tol},
    ),
    "cp_constrained": Spec(
        lambda x, **kw: lrjax.cp_constrained(
            x, kw.pop("rank", 2), **{"prox": prox.prox_nonneg, "key": KEY, **kw}
        ),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "inner": [0], "init": ["nndsvd"], "prox": ["nonneg", [None]],
             **iters, **neg_tol},
    ),
    "cp_generalized": Spec(
        lambda x, **kw: lrjax.cp_generalized(x, kw.pop("rank", 2), **{"key": KEY, **kw}),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0, 2.5], "loss": ["cauchy", 3], "nonneg": [1], "init": ["svd"],
             "mask": [np.ones((5, 4))], **iters, **neg_tol},
    ),
    "tt_svd_adaptive": Spec(
        lambda x, **kw: lrjax.tt_svd_adaptive(x, **{"eps": 0.1, **kw}), t3, "x",
        bad_shapes=((5,),), bad={"eps": [-0.1, NAN, INF, "a"], "max_rank": [0]}, jit=False, real_only=False,
    ),
    "parafac2": Spec(
        lambda x, **kw: lrjax.parafac2(x, kw.pop("rank", 2), **kw), t3, "slices",
        bad_shapes=((5, 4),), key=True, bad={"rank": [0], **iters, **neg_tol},
    ),
    "indscal": Spec(
        lambda x, **kw: lrjax.indscal(x, kw.pop("rank", 2), **kw),
        lambda: SQ3 + np.swapaxes(SQ3, 0, 1), "x", bad_shapes=((4, 4),), key=True, bad={"rank": [0], **iters, **neg_tol},
    ),
    "candelinc": Spec(
        lambda x, **kw: lrjax.candelinc(x, kw.pop("rank", 2), kw.pop("constraints", [None] * 3), **kw),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"rank": [0], "constraints": [[None], [np.ones((3, 2)), None, None]], **iters},
    ),
    "dedicom": Spec(
        lambda x, **kw: lrjax.dedicom(x, kw.pop("rank", 2), **kw), sq3, "x",
        bad_shapes=((4, 4),), key=True, bad={"rank": [0], **iters, **neg_tol},
    ),
    "paratuck2": Spec(
        lambda x, **kw: lrjax.paratuck2(x, kw.pop("ranks", (2, 2)), **kw), sq3, "x",
        bad_shapes=((4, 4),), key=True, bad={"ranks": [(0, 2), 2, (2, 2, 2)], **iters},
    ),
    "block_term": Spec(
        lambda x, **kw: lrjax.block_term(x, kw.pop("n_blocks", 2), kw.pop("ranks", (2, 2, 1)), **kw),
        t3, "x", bad_shapes=((5,),), key=True,
        bad={"n_blocks": [0], "ranks": [(2, 2), (9, 2, 1)], **iters},
    ),
    "robust_pca": Spec(
        lambda x, **kw: lrjax.robust_pca(x, **kw), m2, "m", bad_shapes=((6,), (6, 5, 2)),
        key=False,
        bad={"lam": [0.0, -1.0], "rho": [0.5, -2.0], **iters, **neg_tol,
             "low_rank": [lrjax.RandomizedSVT(0, KEY), lrjax.RandomizedSVT(2, 0), "svt",
                          lrjax.LowRankProx(None)]},
    ),
    "tensor_robust_pca": Spec(
        lambda x, **kw: lrjax.tensor_robust_pca(x, **kw), t3, "x", bad_shapes=((5, 4),),
        bad={"lam": [-1.0], "rho": [0.5], "mu": [0.0, -1.0], "mu_max": [-1.0], **iters, **neg_tol},
    ),
    "complete_matrix": Spec(
        lambda x, **kw: lrjax.complete_matrix(x, kw.pop("mask", OBSERVED), **kw), m2, "observed",
        bad_shapes=((6,),),
        bad={
            "mask": [np.full((6, 5), 0.5), np.zeros((6, 5), bool), np.ones((5, 6), bool)],
            **iters, **neg_tol,
            "method": ["nmf", lrjax.CompletionSVT(tau=-1.0), lrjax.CompletionSVT(tau=0.0),
                       lrjax.CompletionSVT(delta=0.0), lrjax.SoftImpute(lam=-1.0), 3],
        },
    ),
    "wlra": Spec(
        lambda x, **kw: lrjax.wlra(x, kw.pop("weights", np.ones((6, 5))), kw.pop("rank", 2), **kw),
        m2, "m", bad_shapes=((6,),),
        bad={
            "weights": [np.zeros((6, 5)), -np.ones((6, 5)), np.ones((5, 6))],
            "rank": [0, 9], "reg": [-1.0], **iters, **neg_tol,
        },
    ),
    # ---------------------------------------------------------------- SVDs and sketches
    "truncated_svd": Spec(
        lambda x, **kw: lrjax.truncated_svd(x, kw.pop("rank", 2)), m2, "a",
        bad_shapes=((6,), (6, 5, 2)), bad={"rank": [0, 6, -1]}, real_only=False,
    ),
    "randomized_svd": Spec(
        lambda x, **kw: lrjax.randomized_svd(x, kw.pop("rank", 2), **{"key": KEY, **kw}), m2, "a",
        bad_shapes=((6,),), key=True, bad={"rank": [0, 6], "n_oversamples": [-1], "n_iter": [-1]}, real_only=False,
    ),
    "frequent_directions": Spec(
        lambda x, **kw: lrjax.frequent_directions(x, kw.pop("sketch_size", 2), **kw), m2, "a",
        bad_shapes=((6,),), key=True, bad={"sketch_size": [0, 1.5]},
    ),
    # ---------------------------------------------------------------- metric learning
    "flrml": Spec(
        lambda x, **kw: lrjax.metric_learning.flrml(
            x, kw.pop("triplets", TRIP6), rank=kw.pop("rank", 2), **{"key": KEY, **kw}
        ),
        m2, "x", bad_shapes=((5,), (2, 3, 4)), key=True,
        bad={"rank": [0, 6], "maxiter": [0], "margin_ratio": [-1.0, NAN], "tol": [-1.0],
             "retraction": ["svd"],
             "triplets": [np.array([[0, 1, 9]]), np.zeros((2, 2), int), np.zeros((2, 3))]},
    ),
    "triplet_metric": Spec(
        lambda x, **kw: lrjax.metric_learning.triplet_metric(
            x, kw.pop("triplets", TRIP6), rank=kw.pop("rank", 2), steps=kw.pop("steps", 5), **kw
        ),
        m2, "x", bad_shapes=((5,), (2, 3, 4)),
        bad={"rank": [0, 6], "steps": [0], "margin": [0.0], "pull": [-1.0],
             "triplets": [np.array([[0, 1, -1]])]},
    ),
    "triplet_loss": Spec(
        lambda x, **kw: lrjax.metric_learning.triplet_loss(x, M, TRIP6, **kw),
        lambda: RNG.standard_normal((5, 2)), "transform", bad_shapes=((5,), (5, 2, 1)),
    ),
    "knn_accuracy": Spec(
        lambda x, **kw: lrjax.metric_learning.knn_accuracy(
            x, LAB6, M, LAB6, k=kw.pop("k", 1), **kw
        ),
        m2, "train", bad_shapes=((5,),), bad={"k": [0, 7]},
    ),
    "unit_rows": Spec(
        lambda x, **kw: lrjax.metric_learning.unit_rows(x), m2, "x", bad_shapes=((5,),),
    ),
    "stiefel_gradient": Spec(
        lambda x, **kw: lrjax.metric_learning.stiefel_gradient(x, kw.pop("g", M[:, :2])),
        lambda: np.linalg.qr(M[:, :2])[0], "x", bad_shapes=((5,),),
        bad={"g": [np.zeros((5, 2))]},
    ),
    "cayley_retraction": Spec(
        lambda x, **kw: lrjax.metric_learning.cayley_retraction(x, kw.pop("g", M[:, :2]), 0.1),
        lambda: np.linalg.qr(M[:, :2])[0], "x", bad_shapes=((5,),),
        bad={"g": [np.zeros((5, 2))]},
    ),
    "qr_retraction": Spec(
        lambda x, **kw: lrjax.metric_learning.qr_retraction(x, kw.pop("xi", M[:, :2])),
        lambda: np.linalg.qr(M[:, :2])[0], "x", bad_shapes=((5,),),
        bad={"xi": [np.zeros((5, 2))]},
    ),
    "sketched_lra": Spec(
        lambda x, **kw: linalg.sketched_lra(
            x, linalg.gaussian_sketch(KEY, 3, x.shape[0] if x.ndim else 1), kw.pop("rank", 2)
        ),
        m2, "a", bad_shapes=((6,),), bad={"rank": [0, -1, 4]},
    ),
    "sketch_loss": Spec(
        lambda x, **kw: linalg.sketch_loss(
            linalg.gaussian_sketch(KEY, 3, x.shape[1] if x.ndim > 1 else 1), x, kw.pop("rank", 2)
        ),
        lambda: M[None], "matrices", bad_shapes=((6,), (6, 5)), bad={"rank": [0, 4]},
    ),
    "learn_sketch": Spec(
        lambda x, **kw: linalg.learn_sketch(
            x, linalg.gaussian_sketch(KEY, 3, x.shape[1] if x.ndim > 1 else 1),
            kw.pop("rank", 2), steps=kw.pop("steps", 1), **kw,
        ),
        lambda: M[None], "matrices", bad_shapes=((6,), (6, 5)),
        bad={"rank": [0, 4], "steps": [0, -1]}, jit=False,
    ),
    "leading_left_singular_vectors": Spec(
        lambda x, **kw: linalg.leading_left_singular_vectors(x, kw.pop("rank", 2)), m2, "mat",
        nonfinite="propagate", bad_shapes=((6,),), bad={"rank": [0, -1, 7]}, real_only=False,
    ),
    "singular_value_map": Spec(
        lambda x, **kw: linalg.singular_value_map(x, lambda s, p: s * p, 2.0), m2, "x",
        nonfinite="propagate", bad_shapes=((6,),), real_only=False,
    ),
    "spd_inverse": Spec(
        lambda x, **kw: linalg.spd_inverse(x), lambda: M.T @ M, "a", nonfinite="propagate",
        bad_shapes=((6,),), real_only=False,
    ),
    "orthonormalize": Spec(
        lambda x, **kw: linalg.orthonormalize(x), m2, "y", nonfinite="propagate",
        bad_shapes=((6,),),
    ),
    "svd_flip": Spec(
        lambda x, **kw: linalg.svd_flip(x, x.T), m2, "u", nonfinite="propagate",
        bad_shapes=((6,),), real_only=False,
    ),
    "fd_update": Spec(
        lambda x, **kw: linalg.fd_update(linalg.fd_init(5, 2), x, **kw), m2, "rows",
        nonfinite="propagate", bad_shapes=((6,), (6, 4)), key=True,
    ),
    "fd_init": Spec(
        lambda x, **kw: linalg.fd_init(kw.pop("d", 5), kw.pop("sketch_size", 2)), m2, "d",
        nonfinite="propagate", bad={"d": [0, 2.5], "sketch_size": [0]}, empty="skip",
    ),
    "fd_finalize": Spec(
        lambda x, **kw: linalg.fd_finalize(x[:4]), m2, "state", nonfinite="propagate",
        bad_shapes=((6,),),
    ),
    # ---------------------------------------------------------------- multilinear algebra
    "unfold": Spec(
        lambda x, **kw: linalg.unfold(x, kw.pop("mode", 1)), t3, "x", nonfinite="propagate",
        bad={"mode": [3, -4, 1.5]}, real_only=False, empty="passthrough"
    ),
    "fold": Spec(
        lambda x, **kw: linalg.fold(linalg.unfold(x, 1), kw.pop("mode", 1), kw.pop("shape", (5, 4, 3))),
        t3, "unfolded", nonfinite="propagate", bad={"mode": [3], "shape": [(5, 4, 4), (4, 5, 3)]},
        real_only=False, empty="skip"
    ),
    "mode_dot": Spec(
        lambda x, **kw: linalg.mode_dot(x, kw.pop("matrix_or_vector", np.ones((2, 4))), kw.pop("mode", 1)),
        t3, "x", nonfinite="propagate",
        bad={"mode": [3, 1.5], "matrix_or_vector": [np.ones((2, 5)), np.ones((2, 2, 4))]},
        real_only=False, empty="skip"
    ),
    "multi_mode_dot": Spec(
        lambda x, **kw: linalg.multi_mode_dot(x, kw.pop("matrices", [np.ones((2, 5)), np.ones((2, 3))]), kw.pop("modes", [0, 2]), **kw),
        t3, "x", nonfinite="propagate",
        bad={"skip": [9, -9], "modes": [[0, 5], [0, 0]], "matrices": [[np.ones((2, 4)), np.ones((2, 3))]]},
        real_only=False, empty="skip"
    ),
    "khatri_rao": Spec(
        lambda x, **kw: linalg.khatri_rao(kw.pop("matrices", [x, x[:3]])), m2, "matrices",
        nonfinite="propagate", bad={"matrices": [[], [np.ones((3, 2)), np.ones((3, 4))], [np.ones(3)]]},
        real_only=False, empty="skip",
    ),
    "kronecker": Spec(
        lambda x, **kw: linalg.kronecker(kw.pop("matrices", [x, x[:2]])), m2, "matrices",
        nonfinite="propagate", bad={"matrices": [[], [np.ones(3)]]}, real_only=False, empty="skip",
    ),
    "mttkrp": Spec(
        lambda x, **kw: linalg.mttkrp(x, kw.pop("factors", [np.ones((5, 2)), np.ones((4, 2)), np.ones((3, 2))]), kw.pop("mode", 1)),
        t3, "x", nonfinite="propagate",
        bad={"mode": [3, -4], "factors": [[np.ones((5, 2)), np.ones((4, 2)), np.ones((3, 3))], [np.ones((5, 2))]]},
        real_only=False, empty="skip"
    ),
    "partial_mttkrp": Spec(
        lambda x, **kw: linalg.partial_mttkrp(x, [np.ones((5, 2)), np.ones((4, 2)), np.ones((3, 2))], kw.pop("modes", [1, 2])),
        t3, "x", nonfinite="propagate", bad={"modes": [[1, 5], [1, 1], [-7]]}, real_only=False, empty="skip"
    ),
    # ---------------------------------------------------------------- proximal operators
    "prox_l1": Spec(
        lambda x, **kw: prox.prox_l1(x, kw.pop("l1reg", 0.5), kw.pop("scaling", 1.0)), m2, "x",
        nonfinite="propagate", bad={"l1reg": [-1.0, NAN], "scaling": [-1.0]}, empty="passthrough"
    ),
    "prox_l2": Spec(
        lambda x, **kw: prox.prox_l2(x, kw.pop("l2reg", 0.5), kw.pop("scaling", 1.0)), m2, "x",
        nonfinite="propagate", bad={"l2reg": [-1.0], "scaling": [-1.0]}, empty="passthrough"
    ),
    "prox_group_l21": Spec(
        lambda x, **kw: prox.prox_group_l21(x, kw.pop("l21reg", 0.5), **kw), m2, "x",
        nonfinite="propagate", bad={"l21reg": [-1.0], "axis": ["rows", 2, -3]}, empty="passthrough"
    ),
    "prox_elastic_net": Spec(
        lambda x, **kw: prox.prox_elastic_net(x, kw.pop("hyperparams", (0.3, 0.5))), m2, "x",
        nonfinite="propagate", bad={"hyperparams": [(-1.0, 0.5), (0.3, -1.0), 0.3]}, empty="passthrough"
    ),
    "prox_nonneg": Spec(
        lambda x, **kw: prox.prox_nonneg(x), m2, "x", nonfinite="propagate", empty="passthrough"
    ),
    "projection_box": Spec(
        lambda x, **kw: prox.projection_box(x, kw.pop("hyperparams", (-0.5, 0.5))), m2, "x",
        nonfinite="propagate", bad={"hyperparams": [(1.0, -1.0), 0.5]}, empty="passthrough"
    ),
    "projection_l2_ball": Spec(
        lambda x, **kw: prox.projection_l2_ball(x, kw.pop("radius", 1.0)), m2, "x",
        nonfinite="propagate", bad={"radius": [-1.0]}, empty="passthrough"
    ),
    "projection_simplex": Spec(
        lambda x, **kw: prox.projection_simplex(x, kw.pop("value", 1.0)), m2, "x",
        nonfinite="propagate", bad_shapes=((),), bad={"value": [0.0, -1.0]}, empty="passthrough"
    ),
    "projection_monotone": Spec(
        lambda x, **kw: prox.projection_monotone(x, **kw), m2, "x",
        nonfinite="propagate", bad_shapes=((),), bad={"decreasing": [1, "yes"]}, empty="passthrough"
    ),
    "projection_unimodal": Spec(
        lambda x, **kw: prox.projection_unimodal(x), m2, "x",
        nonfinite="propagate", bad_shapes=((),), empty="passthrough"
    ),
    "prox_smooth": Spec(
        lambda x, **kw: prox.prox_smooth(x, kw.pop("smoothreg", 0.5), kw.pop("scaling", 1.0)),
        m2, "x", nonfinite="propagate", bad_shapes=((),),
        bad={"smoothreg": [-1.0, NAN], "scaling": [-1.0]}, empty="passthrough"
    ),
    "prox_ksupport_sq": Spec(
        lambda x, **kw: prox.prox_ksupport_sq(x, kw.pop("hyperparams", (0.3, 2)), kw.pop("scaling", 1.0)),
        m2, "x", nonfinite="propagate", bad_shapes=((),),
        bad={"hyperparams": [(-0.3, 2), (0.3, 0), (0.3, 1.5), 0.3], "scaling": [-1.0]}, empty="passthrough"
    ),
    "projection_rank": Spec(
        lambda x, **kw: prox.projection_rank(x, kw.pop("rank", 2)), m2, "x",
        nonfinite="propagate", bad_shapes=((6,),), bad={"rank": [-1, 1.5]},
    ),
    "prox_log_sum": Spec(
        lambda x, **kw: prox.prox_log_sum(x, kw.pop("hyperparams", (0.3, 0.5))), m2, "x",
        nonfinite="propagate", bad={"hyperparams": [(-0.3, 0.5), (0.3, 0.0), 0.3]}, empty="passthrough"
    ),
    "prox_mcp": Spec(
        lambda x, **kw: prox.prox_mcp(x, kw.pop("hyperparams", (0.3, 3.0)), kw.pop("scaling", 1.0)),
        m2, "x", nonfinite="propagate",
        bad={"hyperparams": [(-0.3, 3.0), (0.3, 0.0), 0.5], "scaling": [-1.0]}, empty="passthrough"
    ),
    "prox_scad": Spec(
        lambda x, **kw: prox.prox_scad(x, kw.pop("hyperparams", (0.3, 3.7)), kw.pop("scaling", 1.0)),
        m2, "x", nonfinite="propagate",
        bad={"hyperparams": [(-0.3, 3.7), (0.3, 1.0), 0.5], "scaling": [-1.0]}, empty="passthrough"
    ),
    "prox_capped_l1": Spec(
        lambda x, **kw: prox.prox_capped_l1(x, kw.pop("hyperparams", (0.3, 1.0))), m2, "x",
        nonfinite="propagate", bad={"hyperparams": [(-0.3, 1.0), (0.3, 0.0)]}, empty="passthrough"
    ),
    "prox_schatten_p": Spec(
        lambda x, **kw: prox.prox_schatten_p(x, kw.pop("hyperparams", (0.3, 0.5)), **kw), m2, "x",
        nonfinite="propagate",
        bad={"hyperparams": [(0.3, 1.0), (0.3, 0.0), (0.3, 1.5), (-0.3, 0.5)], "n_iter": [-1]}, empty="passthrough"
    ),
    "prox_nuclear": Spec(
        lambda x, **kw: prox.prox_nuclear(x, kw.pop("reg", 0.5), kw.pop("scaling", 1.0)), m2, "x",
        nonfinite="propagate", bad_shapes=((6,),), bad={"reg": [-1.0], "scaling": [-1.0]},
    ),
    "prox_weighted_nuclear": Spec(
        lambda x, **kw: prox.prox_weighted_nuclear(x, kw.pop("weights", np.linspace(0.1, 1, 5))),
        m2, "x", nonfinite="propagate", bad_shapes=((6,),),
        bad={"weights": [np.linspace(1, 0.1, 5), -np.ones(5), np.ones(3)]},
    ),
    "generalized_svt": Spec(
        lambda x, **kw: prox.generalized_svt(x, kw.pop("hyperparams", (0.5, 3.0)), prox_fn=prox.prox_mcp),
        m2, "x", nonfinite="propagate", bad_shapes=((6,),),
        bad={"hyperparams": [(-0.5, 3.0), (0.5, 0.0)]},
    ),
    "prox_nuclear_randomized": Spec(
        lambda x, **kw: prox.prox_nuclear_randomized(x, kw.pop("reg", 0.5), **{"rank": 2, "key": KEY, **kw}),
        m2, "x", nonfinite="propagate", bad_shapes=((6,), (2, 6, 5)), key=True,
        bad={"reg": [-1.0], "rank": [0], "n_oversamples": [-1]},
    ),
    "prox_tensor_nuclear": Spec(
        lambda x, **kw: prox.prox_tensor_nuclear(x, kw.pop("reg", 0.3)), t3, "x",
        nonfinite="propagate", bad_shapes=((5, 4),), bad={"reg": [-1.0]},
    ),
    # ---------------------------------------------------------------- solvers
    "iterate": Spec(
        lambda x, **kw: solvers.iterate(lambda z, p: (0.5 * z + p, jnp.sum(z)), x, x, **{"maxiter": 5, "tol": 1e-6, **kw}),
        m2, "z0", nonfinite="propagate",
        bad={"maxiter": [0, -1], "tol": [-1.0], "criterion": ["residual"], "diff": ["forward"]},
        empty="skip",
    ),
    "proximal_gradient": Spec(
        lambda x, **kw: solvers.proximal_gradient(lambda z, a: 0.5 * jnp.sum((z - a) ** 2), jnp.zeros_like(x), (x,), **kw),
        m2, "x0", nonfinite="propagate",
        bad={"maxiter": [0], "stepsize": [0.0, -1.0], "tol": [-1.0], "diff": ["x"]}, empty="skip",
    ),
    "admm": Spec(
        lambda x, **kw: solvers.admm(
            lambda z, u, rho, p: (p + rho * (z - u)) / (1 + rho), lambda h, u, rho, p: h + u,
            kw.pop("init", (jnp.zeros_like(x), jnp.zeros_like(x))), x, **kw,
        ),
        m2, "params", nonfinite="propagate",
        bad={"maxiter": [0], "rho": [0.0, -1.0], "alpha": [0.0, 2.0], "tol": [-1.0],
             "init": [jnp.zeros(3), (jnp.zeros(3),), (jnp.zeros(3), jnp.zeros(3), jnp.zeros(3))]},
        empty="skip",
    ),
    "levenberg_marquardt": Spec(
        lambda x, **kw: solvers.levenberg_marquardt(lambda v, y: v - y, kw.pop("x0", jnp.zeros_like(x)), (x,), **kw),
        m2, "args", nonfinite="propagate",
        bad={"x0": [jnp.zeros((6, 5), jnp.int32), np.zeros((6, 5), np.int64)], "maxiter": [0],
             "tol": [-1.0], "attempts": [0], "cg_maxiter": [0]},
        empty="skip",
    ),
    # ---------------------------------------------------------------- metrics
    **{name: Spec(
        (lambda fn: lambda x, **kw: fn(kw.pop("y_true", x + 0.5), x, **kw))(getattr(metrics, name)),
        m2, "y_pred", nonfinite="propagate", bad={"y_true": [np.ones((6, 4))]},
        empty="skip",
    ) for name in ("mse", "rmse", "r2_score", "correlation", "reflective_correlation")},
    "psnr": Spec(
        lambda x, **kw: metrics.psnr(np.clip(M, 0, 1), x, **kw), lambda: np.clip(M + 0.1, 0, 1), "y",
        nonfinite="propagate", bad={"data_range": [0.0, -1.0]}, bad_shapes=((5, 6),),
    ),
    "ergas": Spec(
        lambda x, **kw: metrics.ergas(np.clip(M, 0, 1) + 0.5, x, **kw), lambda: np.clip(M + 0.1, 0, 1),
        "y", nonfinite="propagate", bad={"ratio": [0.0, -1.0]}, bad_shapes=((5, 6),),
    ),
    "ssim": Spec(
        lambda x, **kw: metrics.ssim(np.ones((14, 13)) * 0.5, x, **{"win_size": 7, **kw}),
        lambda: RNG.uniform(0, 1, (14, 13)), "y", nonfinite="propagate",
        bad={"data_range": [0.0], "win_size": [4, 0, 99], "sigma": [0.0]}, bad_shapes=((13, 14),),
    ),
    "f_measure": Spec(
        lambda x, **kw: metrics.f_measure(x, kw.pop("truth", M > 0), **kw), lambda: (M > 0.3).astype(float),
        "pred", nonfinite="propagate",
        bad={"truth": [np.full((6, 5), 0.5), M[:3] > 0], "valid": [np.ones((6, 4), bool)]},
        bad_shapes=((5, 6),),
    ),
    "detection_stats": Spec(
        lambda x, **kw: metrics.detection_stats(x, kw.pop("truth", M > 0), **kw), lambda: M > 0.3,
        "pred", nonfinite="propagate",
        bad={"valid": [np.ones((6, 4), bool), np.ones(30, bool)], "truth": [np.full((6, 5), 2.0)]},
        bad_shapes=((5, 6),),
    ),
    "frame_stats": Spec(
        lambda x, **kw: metrics.frame_stats(x, kw.pop("targets", (M > 0).astype(float)), **kw), m2,
        "logits", nonfinite="propagate",
        bad={"targets": [np.full((6, 5), 0.5), np.ones((6, 4))], "mask": [np.zeros(6), np.ones(5)],
             "threshold": [1.5, -0.1]},
    ),
    "frame_accuracy": Spec(
        lambda x, **kw: metrics.frame_accuracy(x, kw.pop("targets", (M > 0).astype(float)), **kw), m2,
        "logits", nonfinite="propagate", bad={"mask": [np.zeros(6)], "threshold": [2.0]},
    ),
    "nll_per_frame": Spec(
        lambda x, **kw: metrics.nll_per_frame(x, kw.pop("targets", (M > 0).astype(float)), **kw), m2,
        "logits", nonfinite="propagate", bad={"mask": [np.zeros(6)], "targets": [np.full((6, 5), 3.0)]},
    ),
    # ---------------------------------------------------------------- imaging
    "llrt_denoise": Spec(
        lambda x, **kw: imaging.llrt_denoise(
            x, kw.pop("sigma", 0.1), **{"patch": 3, "stride": 2, "window": 2, "k": 6, "rounds": 1, **kw}
        ),
        lambda: np.abs(T3) + 0.1, "y", bad_shapes=((6, 5), (6, 5, 2, 2)),
        bad={"sigma": [-1.0, NAN], "patch": [0, 7], "k": [0, 30], "rounds": [0], "delta": [1.5],
             "gamma": [0.0], "c": [-1.0], "hl_weight": [-1.0], "p": [1.0, 0.0], "steps": [0],
             **neg_tol},
    ),
    "spectral_hyper_laplacian": Spec(
        lambda x, **kw: imaging.spectral_hyper_laplacian(x, kw.pop("beta", 0.1), **kw), t3, "z",
        bad_shapes=((),), bad={"beta": [-1.0], "p": [1.0, 0.0], "steps": [0]},
    ),
    "group_denoise": Spec(
        lambda x, **kw: imaging.group_denoise(
            x, kw.pop("guide", None), kw.pop("sigma", 0.1),
            **{"patch": 3, "stride": 2, "window": 2, "k": 6, **kw},
        ),
        lambda: np.abs(M), "img", bad_shapes=((6,), (6, 5, 2, 2)),
        bad={"sigma": [-1.0, NAN], "patch": [0, 7], "k": [0, 30], "stride": [0],
             "window": [-1], "prior": ["bm3d", imaging.CPPrior(rank=0)], "guide": [np.ones((5, 5))]},
    ),
    # integer indices cannot carry a NaN: a non-finite guide raises eagerly, and under jit
    # its matches are arbitrary (documented)
    "block_match": Spec(
        lambda x, **kw: imaging.block_match(x, **{"patch": 3, "stride": 2, "window": 2, "k": 6, **kw}),
        m2, "guide", bad_shapes=((6,),), bad={"patch": [0, 7], "k": [0, 30], "batch": [0]},
        jit=False,
    ),
    "extract_patches": Spec(
        lambda x, **kw: imaging.extract_patches(x, kw.pop("patch", 3)), m2, "img",
        nonfinite="propagate", bad_shapes=((6,), (6, 5, 2, 2)), bad={"patch": [0, 6, 2.5]},
    ),
    "aggregate_patches": Spec(
        lambda x, **kw: imaging.aggregate_patches(
            kw.pop("values", np.ones((2, 1, 4, 1))), kw.pop("idx", np.array([[3], [7]])), x,
            patch=kw.pop("patch", 2),
        ),
        m2, "fill", nonfinite="propagate", bad_shapes=((6,),),
        bad={"patch": [0, 7], "values": [np.ones((2, 1, 9, 1))], "idx": [np.zeros((2, 1))]},
    ),
    "illumination_robust_pca": Spec(
        lambda x, **kw: imaging.illumination_robust_pca(x, kw.pop("basis", np.ones((6, 1)) / 6**0.5), **kw),
        m2, "m", bad_shapes=((6,), (6, 5, 2)),
        bad={"basis": [np.ones((5, 1))], "weights": [-np.ones((6, 5)), np.ones((5, 5))],
             "lam": [0.0], "rho": [0.5], **iters, **neg_tol},
    ),
    "tlisd": Spec(
        lambda x, **kw: imaging.tlisd(x, **kw), t3, "d", bad_shapes=((6, 5), (2, 3, 4, 5)),
        bad={"weights": [-np.ones((5, 4)), np.ones((4, 5))], "lam_sparse": [0.0],
             "lam_illum": [-1.0], "k": [0, 6, 1.5], "rho": [1.0], "mu": [0.0], **iters, **neg_tol},
    ),
    "structured_error_coding": Spec(
        lambda x, **kw: imaging.structured_error_coding(
            M, x, **{"shape": (3, 2), "lam_sparse": 0.5, "tau": 0.5, "ridge": 0.1, "mu": 1.0, **kw}
        ),
        lambda: RNG.standard_normal(6), "y", bad_shapes=((6, 2),),
        bad={"shape": [(2, 2), (6,), (3, 2.0)], "lam_sparse": [0.0], "tau": [-1.0], "ridge": [0.0],
             "mu": [NAN], "rounds": [0], "eps": [0.0], **iters, **neg_tol},
    ),
    "lr_lum_coding": Spec(
        lambda x, **kw: imaging.lr_lum_coding(
            M, x, **{"shape": (3, 2), "alpha": 0.5, "beta": 0.1, "mu": 1.0, **kw}
        ),
        lambda: RNG.standard_normal(6), "y", bad_shapes=((6, 2),),
        bad={"shape": [(2, 2), (6,), (3, 2.0)], "alpha": [0.0, 1.0, NAN], "beta": [0.0],
             "mu": [-1.0], "rounds": [0], "eps": [0.0], **iters, **neg_tol},
    ),
    "class_residuals": Spec(
        lambda x, **kw: imaging.class_residuals(
            x, M, kw.pop("code", np.ones(5)), kw.pop("labels", np.array([0, 1, 1, 0, 2])), 3
        ),
        lambda: RNG.standard_normal(6), "y", nonfinite="propagate", bad_shapes=((6, 2),),
        bad={"code": [np.ones(4)], "labels": [np.ones(5)]},
    ),
    # ---------------------------------------------------------------- testing helpers
    "random_cp": Spec(
        lambda x, **kw: testing.random_cp(kw.pop("key", KEY), kw.pop("shape", (5, 4)), kw.pop("rank", 2)),
        m2, "key", key=True, bad={"rank": [0], "shape": [(5, 0), ()]}, empty="skip",
        nonfinite="propagate",
    ),
    "random_tucker": Spec(
        lambda x, **kw: testing.random_tucker(kw.pop("key", KEY), kw.pop("shape", (5, 4)), kw.pop("ranks", (2, 2))),
        m2, "key", key=True, bad={"ranks": [(0, 2), (2,), (6, 2)], "shape": [(5, 0)]}, empty="skip",
        nonfinite="propagate",
    ),
    "random_tt": Spec(
        lambda x, **kw: testing.random_tt(kw.pop("key", KEY), kw.pop("shape", (5, 4, 3)), kw.pop("ranks", (2, 2))),
        m2, "key", key=True, bad={"ranks": [(0, 2), (2,)], "shape": [(5, 0, 3)]}, empty="skip",
        nonfinite="propagate",
    ),
    "random_low_rank": Spec(
        lambda x, **kw: testing.random_low_rank(kw.pop("key", KEY), kw.pop("shape", (5, 4)), kw.pop("rank", 2)),
        m2, "key", key=True, bad={"rank": [0, 5], "shape": [(5,), (5, 0)]}, empty="skip",
        nonfinite="propagate",
    ),
    "random_low_rank_plus_sparse": Spec(
        lambda x, **kw: testing.random_low_rank_plus_sparse(kw.pop("key", KEY), kw.pop("n", 6), kw.pop("rank", 2), kw.pop("fraction", 0.1)),
        m2, "key", key=True, bad={"rank": [0, 7], "n": [0], "fraction": [-0.1, 1.5]}, empty="skip",
        nonfinite="propagate",
    ),
}  # fmt: skip

# Public callables with no array argument of their own to probe here, and where their bad
# input is tested instead.
EXEMPT = {
    # result records and containers: constructed by the library; containers check their
    # factors' shapes in tests/tensors
    **{name: "result record" for name in (
        "BlockTermResult", "CPResult", "TensorRegressionResult", "TTResult", "LRLUMResult", "NMFResult", "CompressedFactorizationResult", "SparsePCAResult", "CompletionSVT", "SoftImpute", "RandomizedSVT",
        "LowRankProx", "CandelincResult", "CompletionResult", "DedicomResult",
        "Parafac2Result", "Paratuck2Result", "RobustPCAResult", "TuckerResult", "WLRAResult",
        "SolverInfo", "ADMMResult", "LeastSquaresResult", "ProximalGradientResult",
        "DetectionStats", "FrameStats", "IlluminationRPCAResult", "TLISDResult", "LLRTResult", "CMTFResult", "TRResult", "StructuredCodingResult", "PolyphonicData", "VideoData", "CompressionReport",
        "LayerCompression",
    )},
    **{name: "container: shape checks in tests/tensors" for name in (
        "BlockTermTensor", "CPTensor", "DedicomTensor", "LowRankMatrix", "Parafac2Tensor",
        "Paratuck2Tensor", "TRTensor", "TTMatrix", "TTTensor", "TuckerTensor",
    )},
    **{name: "TT arithmetic on containers: bad input in tests/tensors/test_tt_arith.py" for name in (
        "tt_add", "tt_inner", "tt_matmul", "tt_multiply", "tt_round", "tt_transpose",
    )},
    **{name: "TT manifold tools on containers: bad input in tests/linalg/test_tt_manifold.py"
       for name in ("tt_gather", "tt_orthogonalize", "tt_project")},
    "cp_permute_factors": "container operation: shape and rank mismatches in tests/tensors/test_factorized_ops.py",
    **{name: "TT container operations: wrong kinds, ranks and shapes in tests/tensors/test_kronecker.py"
       for name in ("kron_cholesky", "kron_determinant", "kron_inv", "kron_slogdet", "tt_bilinear_form")},
    "tensor_dropout": "container operation: bad rate, key and kind in tests/tensors/test_dropout.py",
    **{name: "prior options of group_denoise: checked there (probe above)" for name in (
        "CPPrior", "TuckerPrior", "WNNMPrior",
    )},
    "patch_grid": "NumPy positions from three ints: tests/imaging",
    **{name: "sketch constructors from ints and a key: bad sizes in tests/linalg/test_sketches.py"
       for name in ("count_sketch", "gaussian_sketch", "sparse_sign_sketch", "srht_sketch",
                    "CountSketch", "GaussianSketch", "SparseSignSketch", "SRHTSketch")},
    "implicit_fixed_point": "a differentiation wrapper around a caller's map (tests/solvers)",
    "implicit_stationary_point": "a differentiation wrapper around a caller's objective",
    "lapack_threads": "a context manager; its argument is checked in tests/linalg",
    "congruence": "a NumPy test helper",
    **{name: "takes a PricingProblem, not an array: bad input in tests/bandits" for name in (
        "PricingProblem", "PricingResult", "best_fixed_price", "dynamic_pricing",
        "fkm_parameters", "pricing_problem", "round_revenue",
    )},
    **{name: "result record" for name in ("FLRMLResult", "TripletMetricResult")},
    **{name: "integer output (no NaN to report under jit): bad input in tests/metric_learning"
       for name in ("triplets_from_labels", "knn_predict")},
    "factor_match_score": "a test helper over CP containers",
    "relative_error": "a test helper (two arrays of one shape)",
    **{name: "file loaders: malformed files in tests/data" for name in (
        "data_root", "load_cdnet_highway", "load_faces", "load_i2r_hall", "load_image",
        "load_msi", "load_polyphonic", "pitches_to_roll", "cdnet_labels", "load_video",
        "midi_to_roll",
    )},
    **{name: "Flax layers and tools: constructor checks in tests/nn" for name in (
        "BiclusterConv", "CPConv", "CPGRUCell", "CPLinear", "GRUCell", "LowRankLinear",
        "MonochromaticConv", "SeparableLowRankConv", "TTEmbedding", "TTGRUCell", "TTLinear",
        "TuckerConv", "TuckerGRUCell", "TuckerLinear", "balanced_modes", "compress",
        "force_potential", "force_regularization", "kmeans", "CellOptions", "ConvOptions",
        "DenseOptions",
    )},
    **{name: "knowledge-transfer losses: bad input in tests/nn/test_distill.py" for name in (
        "KnowledgeTransferLoss", "feature_distance", "knowledge_transfer_loss",
        "soft_cross_entropy",
    )},
}  # fmt: skip


def _public_callables() -> set[str]:
    import lrjax.data
    import lrjax.nn

    modules = [lrjax, lrjax.tensors, lrjax.linalg, lrjax.solvers, lrjax.prox,
               lrjax.decomposition, lrjax.testing, lrjax.data, lrjax.metrics, lrjax.nn,
               lrjax.imaging, lrjax.metric_learning, lrjax.bandits]  # fmt: skip
    return {
        name
        for mod in modules
        for name in mod.__all__
        if callable(getattr(mod, name)) and not inspect.ismodule(getattr(mod, name))
    }


def test_every_public_routine_is_probed():
    missing = _public_callables() - set(SPECS) - set(EXEMPT)
    assert not missing, f"public routines with no bad-input probe or exemption: {sorted(missing)}"
    stale = (set(SPECS) | set(EXEMPT)) - _public_callables()
    assert not stale, f"probes of names that are not public: {sorted(stale)}"


def _raises_naming(fn, name: str):
    with pytest.raises(ValueError) as err:
        jax.block_until_ready(fn())
    message = str(err.value)
    assert name in message, f"the error does not name `{name}`: {message}"
    assert len(message) < 600, message


def _leaves(result):
    if isinstance(result, tuple) and hasattr(result, "info"):
        fields = [f for f in result if not isinstance(f, lrjax.SolverInfo)]
        result = (*fields, result.info.error)
    return [
        np.asarray(leaf)
        for leaf in jax.tree.leaves(result)
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)
    ]


NAMES = sorted(SPECS)


@pytest.mark.parametrize("name", NAMES)
def test_good_call_runs(name):
    spec = SPECS[name]
    out = spec.call(spec.good())
    assert all(np.all(np.isfinite(leaf)) or name in ("iterate",) for leaf in _leaves(out))


@pytest.mark.parametrize("bad_value", [NAN, INF], ids=["nan", "inf"])
@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_input(name, bad_value):
    spec = SPECS[name]
    if spec.arg in ("key", "d"):
        pytest.skip("no floating array argument")
    x = np.array(spec.good(), dtype=float)
    x.flat[1] = bad_value
    if spec.nonfinite == "raise":
        _raises_naming(lambda: spec.call(x), spec.arg)
        assert "finite" in _message(lambda: spec.call(x))
    elif np.isnan(bad_value):  # documented: NaN in, NaN out
        assert any(np.any(np.isnan(leaf)) for leaf in _leaves(spec.call(x)))
    else:  # an infinite entry runs to an answer (inf or the set's bound) or is rejected
        try:
            jax.block_until_ready(spec.call(x))
        except ValueError as err:
            assert spec.arg in str(err), str(err)


def _message(fn) -> str:
    try:
        fn()
    except ValueError as err:
        return str(err)
    return ""


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].bad_shapes])
def test_wrong_number_of_dimensions(name):
    spec = SPECS[name]
    for shape in spec.bad_shapes:
        x = RNG.standard_normal(shape)
        _raises_naming(lambda x=x: spec.call(x), spec.arg)


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].empty != "skip"])
def test_empty_dimension(name):
    """An empty input is an error, except for elementwise maps (an empty result)."""
    spec = SPECS[name]
    good = np.asarray(spec.good())
    x = np.zeros((0, *good.shape[1:]))
    if spec.empty == "raise":
        _raises_naming(lambda: spec.call(x), spec.arg)
    else:
        assert np.shape(spec.call(x)) == x.shape or np.size(spec.call(x)) == 0


@pytest.mark.parametrize(
    "name", [n for n in NAMES if SPECS[n].real_only and SPECS[n].empty != "skip"]
)
def test_complex_input(name):
    spec = SPECS[name]
    x = np.asarray(spec.good()) * (1 + 1j)
    _raises_naming(lambda: spec.call(x), spec.arg)


@pytest.mark.parametrize("name", [n for n in NAMES if SPECS[n].key])
@pytest.mark.parametrize("key", [0, "key", np.zeros(3), jax.random.split(KEY, 2)], ids=str)
def test_wrong_key(name, key):
    spec = SPECS[name]
    _raises_naming(lambda: spec.call(spec.good(), key=key), "key")


CASES = [
    (n, arg, i) for n in NAMES for arg, values in SPECS[n].bad.items() for i in range(len(values))
]


@pytest.mark.parametrize(("name", "arg", "index"), CASES, ids=[f"{n}-{a}-{i}" for n, a, i in CASES])
def test_out_of_range_argument(name, arg, index):
    spec = SPECS[name]
    value = spec.bad[arg][index]
    _raises_naming(lambda: spec.call(spec.good(), **{arg: value}), arg)


@pytest.mark.parametrize(
    "name",
    [n for n in NAMES if SPECS[n].nonfinite == "raise" and SPECS[n].arg != "key" and SPECS[n].jit],
)
def test_nonfinite_input_under_jit_is_reported(name):
    """Under jit nothing can raise: iterative routines report the failure in ``info`` (a
    non-finite error, not converged) and the others return NaN, never finite garbage."""
    spec = SPECS[name]
    x = np.array(spec.good(), dtype=float)
    x.flat[1] = NAN
    out = jax.jit(spec.call)(jnp.asarray(x))
    if isinstance(out, tuple) and hasattr(out, "info"):
        assert not np.isfinite(float(out.info.error)) and not bool(out.info.converged)
    assert any(np.any(np.isnan(leaf)) for leaf in _leaves(out))


def test_prox_traced_out_of_range_hyperparameters_give_nan():
    """A traced hyperparameter cannot be checked before the call: the prox returns NaN."""
    x = jnp.asarray(M)
    cases = [
        (prox.prox_l1, -1.0), (prox.prox_l2, -1.0), (prox.projection_l2_ball, -1.0),
        (prox.projection_simplex, -1.0), (prox.prox_nuclear, -1.0),
        (lambda x, g: prox.prox_mcp(x, (0.3, g)), -1.0),
        (lambda x, p: prox.prox_schatten_p(x, (0.3, p)), 1.5),
    ]  # fmt: skip
    for fn, value in cases:
        out = jax.jit(lambda x, v, fn=fn: fn(x, v))(x, value)
        assert np.all(np.isnan(np.asarray(out))), fn
