"""Validation: is the reported outcome a plausible draw from the simulated distribution?

Per figure: the mid-p percentile ``P(X < v) + ½ P(X = v)`` of the reported value v among
the replications (counts are discrete, so the plain percentile would be biased by ties);
the figure is consistent when it lies in [α/2, 1 − α/2] with α = 0.05.

Jointly: the figures are not independent (shot down + forced down ≤ drones), so each
replication's vector is scored by its standardised squared distance from the simulated mean,
and the reported vector's score is placed among them with the same mid-p rule; consistent
when at least α of the replications lie as far out or further.

Sensitivity: every parameter listed under the scenario's ``assumptions`` is set to its low
and its high value, one at a time, and re-run on the same seeds (paired), so the table shows
which assumptions drive each figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bastion.scenario.load import ScenarioError, get_path, with_overrides
from bastion.scenario.schema import Scenario

__all__ = ["ALPHA", "MIN_RUNS", "mid_p", "render_validation", "validate_scenario"]

ALPHA = 0.05
MIN_RUNS = 100  # below this a reported figure's percentile among the runs is mostly noise


def mid_p(sim: np.ndarray, value: float) -> float:
    sim = np.asarray(sim, float)
    return float(np.mean(sim < value - 1e-9) + 0.5 * np.mean(np.abs(sim - value) <= 1e-9))


def joint_p(matrix: np.ndarray, ref: np.ndarray) -> float:
    mu = matrix.mean(axis=0)
    sd = matrix.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    d = np.sum(((matrix - mu) / sd) ** 2, axis=1)
    d_ref = float(np.sum(((ref - mu) / sd) ** 2))
    return float(np.mean(d > d_ref + 1e-9) + 0.5 * np.mean(np.abs(d - d_ref) <= 1e-9))


def validate_scenario(sc: Scenario, *, runs: int, sensitivity_runs: int, seed: int | None,
                      workers: int, runner: Callable[..., Any]) -> dict[str, Any]:
    ref = sc.reference_outcome
    assert ref is not None
    names = list(ref.figures)
    base = runner(sc, runs, seed, workers, f"{sc.name} (base, {runs})")
    figs = []
    mat = np.column_stack([base.column(n) for n in names])
    for i, n in enumerate(names):
        v = ref.figures[n].value
        p = mid_p(mat[:, i], v)
        figs.append({"figure": n, "reported": v, "source": ref.figures[n].source,
                     "simulated_mean": float(mat[:, i].mean()),
                     "simulated_p05": float(np.percentile(mat[:, i], 5)),
                     "simulated_p95": float(np.percentile(mat[:, i], 95)),
                     "mid_p": p, "consistent": ALPHA / 2 <= p <= 1 - ALPHA / 2})
    jp = joint_p(mat, np.array([ref.figures[n].value for n in names]))
    sens = []
    if sensitivity_runs > 0:
        for a in sc.assumptions:
            row: dict[str, Any] = {"path": a.path, "low": a.low, "high": a.high,
                                   "reason": a.reason}
            try:
                row["nominal"] = get_path(sc, a.path)
                variants = {lvl: with_overrides(sc, {a.path: val})
                            for lvl, val in (("low", a.low), ("high", a.high))}
            except ScenarioError as exc:
                row["error"] = str(exc)
                sens.append(row)
                continue
            for lvl, var in variants.items():
                mc = runner(var, sensitivity_runs, seed, workers, f"{a.path}={row[lvl]}")
                row[f"{lvl}_means"] = {n: float(mc.column(n).mean()) for n in names}
                row[f"{lvl}_mid_p"] = {n: mid_p(mc.column(n), ref.figures[n].value)
                                       for n in names}
            row["effect"] = {n: row["high_means"][n] - row["low_means"][n] for n in names}
            sens.append(row)
        sens.sort(key=lambda r: -max((abs(v) for v in r.get("effect", {}).values()),
                                     default=0.0))
    consistent = all(f["consistent"] for f in figs) and jp >= ALPHA
    verdict = ("consistent with the reported outcome" if consistent
               else "NOT consistent with the reported outcome")
    if runs < MIN_RUNS:
        # the CLI refuses this; an API caller still gets a result, marked as no verdict
        verdict = f"no verdict: {runs} replications are too few (at least {MIN_RUNS}); {verdict}"
    return {
        "scenario": sc.name, "runs": runs, "seed": base.seed, "alpha": ALPHA,
        "figures": figs, "joint_p": jp, "consistent": consistent,
        "verdict": verdict, "meaningful": runs >= MIN_RUNS,
        "sensitivity_runs": sensitivity_runs, "sensitivity": sens,
        "assumptions_labelled": len(sc.assumptions),
    }


def render_validation(res: dict[str, Any], console: Console) -> None:
    t = Table(title=f"{res['scenario']}: reported figures vs {res['runs']} replications")
    for c in ("figure", "reported", "simulated mean", "5–95 %", "mid-p", "consistent"):
        t.add_column(c, justify="left" if c == "figure" else "right")
    for f in res["figures"]:
        t.add_row(f["figure"], f"{f['reported']:g}", f"{f['simulated_mean']:.2f}",
                  f"{f['simulated_p05']:.0f}–{f['simulated_p95']:.0f}", f"{f['mid_p']:.3f}",
                  "yes" if f["consistent"] else "[red]no[/]")
    console.print(t)
    console.print(f"joint check (all figures together): p = {res['joint_p']:.3f}")
    if res["sensitivity"]:
        names = [f["figure"] for f in res["figures"]]
        s = Table(title=f"one-at-a-time sensitivity ({res['sensitivity_runs']} paired "
                        "replications per level); effect = mean at high − mean at low")
        # the parameter path is what the user acts on: wrap it, never truncate it
        s.add_column("assumed parameter", overflow="fold", min_width=22, ratio=3)
        s.add_column("low → high", justify="right", overflow="fold")
        for n in names:
            s.add_column(n.replace("_", " "), justify="right", overflow="fold", ratio=1)
        for r in res["sensitivity"]:
            if "error" in r:
                s.add_row(r["path"], "", *["error"] * len(names))
                continue
            s.add_row(r["path"], f"{r['low']:g} → {r['high']:g}",
                      *[f"{r['effect'][n]:+.2f}" for n in names])
        console.print(s)
    style = "bold green" if res["consistent"] else "bold red"
    console.print(f"[{style}]{res['verdict']}[/]")
