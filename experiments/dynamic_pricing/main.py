"""Cumulative regret of GDG, OPOK and OPOL on simulated low-rank demand (the simulation
section of Mueller, Syrgkanis & Taddy, NeurIPS 2019), at N in (10, 100, 1000) products and
latent rank d in (2, 5, 10), 20 seeds per setting in one vmapped program each.

Writes ``report.md`` (final regret, mean and standard deviation over seeds, and the regret of
posting the zero price for scale), ``results.json`` and ``regret.png`` (regret against rounds,
d = 5, one panel per N) under ``--out`` (default ``runs/dynamic_pricing``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lrjax import bandits

METHODS = ("gdg", "opok", "opol")


def render(rows, horizon, seeds) -> list[str]:
    """The report's tables: final regret (mean ± std over seeds, wall seconds of the vmapped
    runs), and the same divided by the regret of posting price 0 in every round, which
    puts instances of different scale side by side."""
    lines = [
        f"Horizon T = {horizon}, {seeds} seeds; final cumulative regret, mean ± std over seeds "
        "(wall seconds for the vmapped runs in brackets); 'zero price' is the regret of never "
        "moving from price 0, for scale.",
        "",
        "| N | d | GDG | OPOK | OPOL | zero price |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[m][0]:.0f} ± {r[m][1]:.0f} ({r[m + '_seconds']:.1f} s)" for m in METHODS]
        lines.append(
            f"| {r['N']} | {r['d']} | " + " | ".join(cells) + f" | {r['zero_price_regret']:.0f} |"
        )
    lines += [
        "",
        "Regret over the zero-price regret:",
        "",
        "| N | d | GDG | OPOK | OPOL |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        z = r["zero_price_regret"]
        lines.append(
            f"| {r['N']} | {r['d']} | " + " | ".join(f"{r[m][0] / z:.2f}" for m in METHODS) + " |"
        )
    return lines


def run(products, ranks, horizon, seeds, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    rows, curves = [], {}
    for n in products:
        for d in ranks:
            prob = bandits.pricing_problem(
                jax.random.key(n * 100 + d), n_products=n, rank=d, horizon=horizon
            )
            best = prob.u.T @ bandits.best_fixed_price(prob)
            zero_price = float(
                jnp.sum(
                    jax.vmap(lambda t, p=prob, b=best: bandits.round_revenue(p, b, t))(
                        jnp.arange(horizon)
                    )
                )
            )
            keys = jax.random.split(jax.random.key(7), seeds)
            row = {"N": n, "d": d, "zero_price_regret": zero_price}
            for m in METHODS:
                t0 = time.perf_counter()
                res = jax.vmap(lambda k, p=prob, m=m: bandits.dynamic_pricing(p, k, method=m))(keys)
                regret = np.asarray(res.regret)
                row[m] = (float(regret[:, -1].mean()), float(regret[:, -1].std()))
                row[f"{m}_seconds"] = time.perf_counter() - t0
                curves[(n, d, m)] = regret
            rows.append(row)
            print(row, flush=True)
    lines = render(rows, horizon, seeds)
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        d = ranks[len(ranks) // 2]
        fig, axes = plt.subplots(1, len(products), figsize=(4 * len(products), 3.2))
        for ax, n in zip(np.atleast_1d(axes), products, strict=True):
            for m in METHODS:
                reg = curves[(n, d, m)]
                mean, sd = reg.mean(0), reg.std(0)
                t = np.arange(1, horizon + 1)
                ax.plot(t, mean, label=m.upper())
                ax.fill_between(t, mean - sd, mean + sd, alpha=0.25)
            ax.set_title(f"N = {n}, d = {d}")
            ax.set_xlabel("round")
        np.atleast_1d(axes)[0].set_ylabel("cumulative regret")
        np.atleast_1d(axes)[0].legend()
        fig.tight_layout()
        fig.savefig(out / "regret.png", dpi=110)
    except ImportError:  # pragma: no cover - matplotlib is in the experiments extra
        pass
    return {"rows": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--out", type=Path, default=Path("runs/dynamic_pricing"))
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    if args.tiny:
        run((5, 20), (2,), 100, 3, args.out)
    else:
        run((10, 100, 1000), (2, 5, 10), 10_000, 20, args.out)


if __name__ == "__main__":
    main()
