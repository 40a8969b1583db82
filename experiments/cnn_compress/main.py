"""Low-rank CNNs trained and compressed on the shipped faces: the baseline, Tai et al. (trained
low-rank and closed-form decomposition), Denton / Lebedev (CP, Tucker-2, bicluster), force
regularization (Wen et al.) and knowledge transfer (LRDKT, Lin et al.).

Every row reports parameters, FLOPs, the measured jitted CPU latency at batch 1 and 64 (best of
``config.latency_repeats``, all in this run) and test accuracy. Writes ``metrics.jsonl`` (one
row per training epoch), ``results.json``, ``summary.md``, ``accuracy_vs_flops.png`` and
orbax checkpoints (rerun the command to resume) under the workdir.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from experiments._workdir import WorkdirLock, check_resumable
from experiments.cnn_compress import report
from experiments.cnn_compress.model import N_CONV, VGG, model_flops
from experiments.cnn_compress.train import accuracy, fit, latency, recalibrate
from lrjax import nn as lrnn
from lrjax.data import load_faces

ROWS = ("baseline", "tai_scratch", "tai", "cp", "tucker", "bicluster", "force", "lrdkt")
DECOMPOSED = tuple(f"conv{i}" for i in range(1, N_CONV))  # conv0 has one input channel


def validate(config) -> list[str]:
    """Problems with the config, one line each."""
    problems = [
        f"config.rows: unknown row {r!r} (known: {ROWS})" for r in config.rows if r not in ROWS
    ]
    if config.dataset not in ("yaleb", "orl"):
        problems.append(f"config.dataset must be 'yaleb' or 'orl', got {config.dataset!r}")
    if not 0 < config.test_fraction < 1:
        problems.append(f"config.test_fraction must be in (0, 1), got {config.test_fraction}")
    fractions = [
        *config.tai_fractions,
        *config.cp_fractions,
        *config.tucker_fractions,
        config.tai_scratch_fraction,
        config.lrdkt.fraction,
        *(b[2] for b in config.bicluster),
    ]
    problems += [f"FLOP fractions must be in (0, 1], got {f}" for f in fractions if not 0 < f <= 1]
    for name in ("epochs", "finetune_epochs", "batch_size", "latency_repeats"):
        if int(config[name]) < 1:
            problems.append(f"config.{name} must be at least 1, got {config[name]}")
    if "lrdkt" in config.rows and config.lrdkt.fraction not in config.tai_fractions:
        problems.append(
            f"config.lrdkt.fraction ({config.lrdkt.fraction}) must be one of "
            f"config.tai_fractions {tuple(config.tai_fractions)}: LRDKT is compared with the "
            "plain fine-tuning of the same decomposition"
        )
    return problems


def load_data(config) -> dict:
    """Stratified train / test split of the faces, standardized by the training pixels."""
    images, labels = load_faces(config.dataset)
    if config.classes:
        keep = labels < config.classes
        images, labels = images[keep], labels[keep]
    rng = np.random.default_rng(config.seed)
    test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test[idx[: max(1, round(config.test_fraction * len(idx)))]] = True
    x = images[..., None].astype(np.float32)
    mean, std = x[~test].mean(), x[~test].std()
    x = (x - mean) / std
    return {
        "train": (x[~test], labels[~test]),
        "test": (x[test], labels[test]),
        "classes": int(labels.max()) + 1,
    }


def _round8(r: float, cap: int) -> int:
    return int(min(cap, max(8, 8 * round(r / 8))))


def _shape(layer):
    kh, kw, c, n = layer.kernel[...].shape
    return kh, kw, c, n


def tai_rank(layer, frac: float) -> int:
    """Rank of the vertical-horizontal factorization with ``frac`` of the layer's FLOPs
    (rounded to a multiple of 8, which XLA's CPU convolutions vectorize)."""
    kh, kw, c, n = _shape(layer)
    return _round8(frac * kh * kw * c * n / (kh * c + kw * n), min(kh * c, kw * n))


def cp_rank(layer, frac: float) -> int:
    kh, kw, c, n = _shape(layer)
    return _round8(frac * kh * kw * c * n / (c + kh + kw + n), kh * kw * c * n)


def tucker_rank(layer, frac: float) -> int:
    kh, kw, c, n = _shape(layer)  # c r + kh kw r^2 + r n = frac kh kw c n
    a, b = kh * kw, c + n
    return _round8((-b + math.sqrt(b * b + 4 * a * frac * a * c * n)) / (2 * a), min(c, n))


def bicluster_rank(layer, groups, frac: float) -> int:
    """Rank of every bicluster block (rounded to a multiple of 4, at least 4)."""
    kh, kw, c, n = _shape(layer)
    g, h = groups
    r = frac * kh * kw * c * n / (c * h + kh * kw * g * n)
    return int(min(c // g, n // h, max(4, 4 * round(r / 4))))


def policy(kind: str, frac: float, config):
    """``compress`` policy replacing conv1 ... conv5 by a ``kind`` decomposition."""
    key = jax.random.key(config.seed)

    def make(path, layer):
        if path not in DECOMPOSED:
            return None
        if kind == "tai":
            return lrnn.SeparableLowRankConv.from_conv(layer, tai_rank(layer, frac))
        if kind == "cp":
            return lrnn.CPConv.from_conv(
                layer, cp_rank(layer, frac), key=key, maxiter=config.cp_maxiter
            )
        if kind == "tucker":
            r = tucker_rank(layer, frac)
            return lrnn.TuckerConv.from_conv(layer, (r, r))
        g, h, _ = kind
        return lrnn.BiclusterConv.from_conv(
            layer, g, h, bicluster_rank(layer, (g, h), frac), key=key
        )

    return make


def params(model) -> int:
    return sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


def run(config, workdir: str) -> list[dict]:
    """Run the experiment described by ``config``; write results under ``workdir`` (holding
    an exclusive lock on it)."""
    problems = validate(config)
    if problems:
        raise ValueError("; ".join(problems))
    with WorkdirLock(workdir):
        return _run(config, Path(workdir))


def _run(config, work: Path) -> list[dict]:
    check_resumable(
        work,
        config,
        trained=(work / "checkpoints").exists(),
        may_change=("latency_repeats", "xla_ynn_fusion", "recalibrate_batches"),
        added={"cp_maxiter": 300},  # runs recorded before the field existed used 300
    )
    data = load_data(config)
    shape = data["train"][0].shape[1:]
    rows: list[dict] = []
    lat_cache: dict[str, tuple[float, float]] = {}

    def record(paper, method, setting, model, fine_tuned, arch, **extra):
        if arch not in lat_cache:
            lat_cache[arch] = tuple(
                latency(model, shape, b, config.latency_repeats) for b in (1, 64)
            )
        row = {
            "paper": paper,
            "method": method,
            "setting": setting,
            "fine_tuned": fine_tuned,
            "params": params(model),
            "flops": model_flops(model, shape[0]),
            "latency_b1": lat_cache[arch][0],
            "latency_b64": lat_cache[arch][1],
            "accuracy": accuracy(model, data),
            **extra,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        return row

    def fresh(seed_offset=0):
        return VGG(tuple(config.widths), data["classes"], rngs=nnx.Rngs(config.seed + seed_offset))

    def trained(job, model, epochs, lr, **kw):
        fit(job, model, data, epochs=epochs, lr=lr, config=config, work=work, **kw)
        return model

    base = trained("baseline", fresh(), config.epochs, config.lr)
    record("baseline", "baseline", "", base, False, "baseline")

    def decomposed(source, label, kind, frac, arch, paper, source_job="baseline", teacher=None):
        model, _ = lrnn.compress(source, policy(kind, frac, config))
        setting = f"{frac:.2f} of the FLOPs"
        if teacher is None:  # with a teacher, the same decomposition's row is already there
            # no fine-tuning: the accuracy with the batch-norm statistics re-estimated (no
            # weight changes), and with the dense network's statistics as they were ("raw")
            raw = accuracy(model, data)
            calibrated = nnx.clone(model)
            recalibrate(calibrated, data, config.recalibrate_batches, config.batch_size)
            record(paper, label, setting, calibrated, False, arch, source=source_job,
                   accuracy_raw=raw)  # fmt: skip
        if config.finetune_epochs:
            job = f"{arch}_ft" if teacher is None else f"{arch}_kt"
            model = trained(job, model, config.finetune_epochs, config.finetune_lr, teacher=teacher)
            record(
                paper,
                label + (" + KT" if teacher is not None else ""),
                setting,
                model,
                True,
                arch,
                source=source_job,
            )
        return model

    if "tai_scratch" in config.rows:
        frac = config.tai_scratch_fraction
        shell = fresh(1)

        def scratch(path, layer):
            if path not in DECOMPOSED:
                return None
            _, _, c, n = _shape(layer)
            return lrnn.SeparableLowRankConv(
                c, n, 3, tai_rank(layer, frac), use_bias=False, rngs=nnx.Rngs(config.seed + 2)
            )

        model, _ = lrnn.compress(shell, scratch)
        model = trained("tai_scratch", model, config.epochs, config.lr)
        record(
            "tai",
            "low-rank trained from scratch",
            f"{frac:.2f} of the FLOPs",
            model,
            False,
            f"tai_{frac}",
        )
    if "tai" in config.rows or "lrdkt" in config.rows:
        for frac in config.tai_fractions:
            decomposed(base, "closed-form decomposition", "tai", frac, f"tai_{frac}", "tai")
    for kind, fracs in (("cp", config.cp_fractions), ("tucker", config.tucker_fractions)):
        if kind in config.rows:
            label = {"cp": "CP (Lebedev et al.)", "tucker": "Tucker-2 (Kim et al.)"}[kind]
            for frac in fracs:
                decomposed(base, label, kind, frac, f"{kind}_{frac}", "denton")
    if "bicluster" in config.rows:
        for g, h, frac in config.bicluster:
            decomposed(
                base,
                f"bicluster G={g}, H={h}",
                (g, h, frac),
                frac,
                f"bicluster_{g}_{h}_{frac}",
                "denton",
            )
    if "force" in config.rows:
        forced = trained("force", fresh(), config.epochs, config.lr, force=config.force_strength)
        record(
            "force",
            "force-regularized training",
            f"lambda_s={config.force_strength:g}",
            forced,
            False,
            "baseline",
        )
        for frac in config.tai_fractions:
            decomposed(
                forced,
                "force + closed-form decomposition",
                "tai",
                frac,
                f"force_tai_{frac}",
                "force",
                source_job="force",
            )
    if "lrdkt" in config.rows:
        frac = config.lrdkt.fraction
        decomposed(
            base, "closed-form decomposition", "tai", frac, f"tai_{frac}", "lrdkt", teacher=base
        )
    (work / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    report.write(work, config, data, rows)
    return rows
