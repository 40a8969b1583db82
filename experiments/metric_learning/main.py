"""k-NN accuracy of learnt low-rank metrics on the shipped faces (32 x 32): Extended Yale B
(38 subjects; 32 random training faces per subject, the rest, 1198, for testing) or, with
``--dataset orl``, AT&T / ORL (40 subjects; 6 training faces per subject, 4 for testing).

Rows: Euclidean k-NN on the pixels; PCA (rank r) + Euclidean; the LMNN-style triplet
baseline (``lrjax.metric_learning.triplet_metric``); FLRML at ``margin_ratio`` chosen on a
validation split of the training faces (every ratio of the grid trained in one vmapped call);
with ``--anchors``, scikit-learn-compatible ``metric-learn``'s NCA (and LMNN with
``--lmnn``; it ran for about two hours here) as outside anchors, measured in the same run.
Times are wall seconds of the fit, including compilation for the lrjax rows.
Writes ``report.md`` and ``results.json`` under ``--out`` (default ``runs/metric_learning``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lrjax import metric_learning as ml
from lrjax.data import load_faces

RATIOS = (0.05, 0.1, 0.2, 0.5, 1.0)


def split(labels, per_class, seed):
    rng = np.random.default_rng(seed)
    train = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        train[rng.permutation(np.flatnonzero(labels == c))[:per_class]] = True
    return train


def _timed(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - t0


def _metric_learn():
    """metric-learn 0.7.0 passes ``force_all_finite``, which scikit-learn 1.8 renamed to
    ``ensure_all_finite``: translate the keyword on its two validation calls."""
    import metric_learn
    import metric_learn._util as util
    import sklearn.utils.validation as validation

    def renamed(fn):
        def call(*args, **kw):
            if "force_all_finite" in kw:
                kw["ensure_all_finite"] = kw.pop("force_all_finite")
            return fn(*args, **kw)

        return call

    util.check_X_y = renamed(validation.check_X_y)
    util.check_array = renamed(validation.check_array)
    return metric_learn


NAMES = {"yaleb": "Extended Yale B", "orl": "AT&T / ORL"}
PER_CLASS = {"yaleb": 32, "orl": 6}


def run(
    rank, per_class, anchors, lmnn, out: Path, limit=None, dataset: str = "yaleb"
) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    images, labels = load_faces(dataset)
    x = images.reshape(len(images), -1)
    if limit is not None:
        keep = labels < limit
        x, labels = x[keep], labels[keep]
    train = split(labels, per_class, 0)
    xtr, ytr, xte, yte = x[train], labels[train], x[~train], labels[~train]
    rows = []

    def record(name, emb_tr, emb_te, seconds):
        accs = [float(ml.knn_accuracy(emb_tr, ytr, emb_te, yte, k=k)) for k in (1, 3)]
        rows.append({"method": name, "acc1": accs[0], "acc3": accs[1], "seconds": seconds})
        print(rows[-1], flush=True)

    record("Euclidean (pixels)", xtr, xte, 0.0)
    xn_tr, xn_te = ml.unit_rows(xtr), ml.unit_rows(xte)
    (_, _, vt), t = _timed(lambda: jnp.linalg.svd(xn_tr - xn_tr.mean(0), full_matrices=False))
    record(f"PCA {rank} + Euclidean", xn_tr @ vt[:rank].T, xn_te @ vt[:rank].T, t)
    trip, t_trip = _timed(lambda: ml.triplets_from_labels(xn_tr, ytr))
    res, t = _timed(lambda: ml.triplet_metric(xtr, trip, rank=rank))
    record(f"triplet baseline {rank}", xn_tr @ res.transform, xn_te @ res.transform, t + t_trip)

    # margin_ratio by validation: a quarter of the training faces per subject (at least 2)
    # held out
    fit = split(ytr, per_class - max(2, per_class // 4), 1)
    vtrip = ml.triplets_from_labels(xn_tr[fit], ytr[fit])

    def grid():
        return jax.vmap(
            lambda m: ml.flrml(xtr[fit], vtrip, rank=rank, key=jax.random.key(0), margin_ratio=m)
        )(jnp.asarray(RATIOS))

    val, t_val = _timed(grid)
    scores = [
        float(ml.knn_accuracy(xn_tr[fit] @ tr, ytr[fit], xn_tr[~fit] @ tr, ytr[~fit]))
        for tr in val.transform
    ]
    ratio = RATIOS[int(np.argmax(scores))]
    res, t = _timed(
        lambda: ml.flrml(xtr, trip, rank=rank, key=jax.random.key(0), margin_ratio=ratio)
    )
    record(
        f"FLRML {rank} (margin_ratio {ratio})",
        xn_tr @ res.transform,
        xn_te @ res.transform,
        t + t_trip,
    )
    rows[-1]["validation"] = dict(zip(map(str, RATIOS), scores, strict=True))
    rows[-1]["validation_seconds"] = t_val
    res, t = _timed(lambda: ml.flrml(xtr, trip, rank=rank, key=jax.random.key(0)))
    record(
        f"FLRML {rank} (margin_ratio 1, the authors' default)",
        xn_tr @ res.transform,
        xn_te @ res.transform,
        t + t_trip,
    )

    if anchors:
        mlearn = _metric_learn()
        a_tr, a_te = np.asarray(xn_tr), np.asarray(xn_te)
        models = [("metric-learn NCA", mlearn.NCA(n_components=rank, max_iter=100, random_state=0))]
        if lmnn:
            models.append(
                (
                    "metric-learn LMNN",
                    mlearn.LMNN(n_neighbors=3, n_components=rank, max_iter=200, random_state=0),
                )
            )
        for name, model in models:
            t0 = time.perf_counter()
            model.fit(a_tr, ytr)
            t = time.perf_counter() - t0
            record(f"{name} {rank}", model.transform(a_tr), model.transform(a_te), t)

    lines = [
        f"{NAMES[dataset]}, {len(xtr)} training / {len(xte)} test faces, rank {rank}.",
        "",
        "| method | 1-NN | 3-NN | fit seconds |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {100 * r['acc1']:.1f} | {100 * r['acc3']:.1f} | {r['seconds']:.2f} |"
        for r in rows
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="4 subjects, rank 8: a smoke run")
    parser.add_argument("--anchors", action="store_true", help="also fit metric-learn's NCA")
    parser.add_argument("--lmnn", action="store_true", help="and metric-learn's LMNN (hours)")
    parser.add_argument("--dataset", choices=sorted(NAMES), default="yaleb")
    parser.add_argument("--out", type=Path, default=None, help="default runs/metric_learning[_orl]")
    args = parser.parse_args(argv)
    out = args.out or Path("runs/metric_learning" + ("" if args.dataset == "yaleb" else "_orl"))
    jax.config.update("jax_enable_x64", True)
    per_class = PER_CLASS[args.dataset]
    if args.tiny:
        run(8, min(20, per_class), False, False, out, limit=4, dataset=args.dataset)
    else:
        run(64, per_class, args.anchors, args.lmnn, out, dataset=args.dataset)


if __name__ == "__main__":
    main()
