"""``summary.md`` (one table per paper, beside the paper's relative figures) and the
accuracy-against-FLOPs plot of a cnn_compress run."""

from __future__ import annotations

from pathlib import Path

# The papers' own relative figures (../shared/notes/published_tables.md), for the tables.
PUBLISHED = {
    "tai": "Tai et al. (CIFAR-10, no augmentation): low-rank CNN trained from scratch 14.50 % "
    "error vs 15.12 % (-0.62 points) at 2.9x speedup; with dropout 13.81 % vs 13.90 %, 2.8x.",
    "denton": "Denton et al. (ImageNet, no fine-tuning): bicluster + SVD on conv2 3.9x weight "
    "reduction, +0.9 % error; bicluster + outer product 5.3x, +0.68 %; monochromatic conv1 3x, "
    "+0.43 %.",
    "force": "Wen et al. (AlexNet, top-5 19.97 %): force regularization then low-rank "
    "approximation +0.17 % at 2.69x conv speedup, +1.71 % at 4.05x (CP decomposition +1.00 % "
    "at 1.27x).",
    "lrdkt": "Lin et al. (ResNet-50, energy 0.7): LRDKT top-1 +0.72 % at 2.02x CPU speedup; "
    "fine-tuning only (LRDFT) +2.36 %; at energy 0.5: +6.29 % vs +8.52 %.",
}
TITLES = {
    "tai": "Tai et al. (ICLR 2016): vertical x horizontal low-rank convolutions",
    "denton": "Denton et al. (NIPS 2014) / Lebedev et al. / Kim et al.: post-hoc decompositions",
    "force": "Wen et al. (ICCV 2017): force regularization, then decomposition",
    "lrdkt": "Lin et al. (TPAMI 2018): knowledge transfer (LRDKT) vs fine-tuning",
}


def _table(rows, base) -> list[str]:
    lines = [
        "| method | setting | fine-tuned | params | MFLOPs | FLOPs / base | speedup b1 | "
        "speedup b64 | accuracy % | change (points) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['setting']} | {'yes' if r['fine_tuned'] else 'no'} | "
            f"{r['params']:,} ({base['params'] / r['params']:.1f}x fewer) | "
            f"{r['flops'] / 1e6:.1f} | {r['flops'] / base['flops']:.2f} | "
            f"{base['latency_b1'] / r['latency_b1']:.2f}x | "
            f"{base['latency_b64'] / r['latency_b64']:.2f}x | {100 * r['accuracy']:.2f} | "
            f"{100 * (r['accuracy'] - base['accuracy']):+.2f} |"
        )
    return lines


def write(work: Path, config, data, rows) -> None:
    base = next(r for r in rows if r["method"] == "baseline")
    n_train, n_test = len(data["train"][1]), len(data["test"][1])
    lines = [
        f"# Low-rank CNNs on {config.dataset} ({n_train} training / {n_test} test images, "
        f"{data['classes']} classes)",
        "",
        f"Baseline: VGG-style, widths {tuple(config.widths)}, {base['params']:,} parameters, "
        f"{base['flops'] / 1e6:.1f} MFLOPs per image, test accuracy "
        f"{100 * base['accuracy']:.2f} %, latency {1e3 * base['latency_b1']:.2f} ms at batch 1 "
        f"and {1e3 * base['latency_b64']:.2f} ms at batch 64 (jitted, best of "
        f"{config.latency_repeats}). Speedups are against these, measured in the same run.",
    ]
    for paper in ("tai", "denton", "force", "lrdkt"):
        chosen = [r for r in rows if r["paper"] == paper]
        if paper == "lrdkt":
            frac = config.lrdkt.fraction
            setting = f"{frac:.2f} of the FLOPs"
            chosen = [
                r
                for r in rows
                if r["paper"] == "tai"
                and r["setting"] == setting
                and r["method"] == "closed-form decomposition"
            ] + [r for r in chosen if r["fine_tuned"]]
        if paper == "force":
            chosen = [
                r
                for r in rows
                if r["paper"] == "tai" and r["method"] == "closed-form decomposition"
            ] + chosen
        if not chosen:
            continue
        lines += [
            "",
            f"## {TITLES[paper]}",
            "",
            *_table(chosen, base),
            "",
            f"Published: {PUBLISHED[paper]}",
        ]
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plot(work, rows, base)


def _plot(work: Path, rows, base) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    groups: dict[str, list] = {}
    for r in rows:
        if r["method"] == "baseline":
            continue
        label = r["method"] + (" (fine-tuned)" if r["fine_tuned"] else "")
        groups.setdefault(label, []).append((r["flops"] / 1e6, 100 * r["accuracy"]))
    markers = "os^vD<>phx*+"
    for i, (label, pts) in enumerate(sorted(groups.items())):
        pts = sorted(set(pts))
        ax.plot(
            *zip(*pts, strict=True),
            marker=markers[i % len(markers)],
            label=label,
            linestyle="-" if "fine-tuned" in label else ":",
        )
    ax.axhline(100 * base["accuracy"], color="k", lw=0.8, label="baseline")
    ax.axvline(base["flops"] / 1e6, color="k", lw=0.5, ls="--")
    ax.set_xlabel("MFLOPs per image")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=6, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(work / "accuracy_vs_flops.png", dpi=130)
    plt.close(fig)
