"""Paired comparison of two variants run on the same seeds (common random numbers).

Replication r of variant A and of variant B see the same drones, weather and sensor noise,
so the per-replication difference B − A removes most of the shared variance; its mean comes
with a Student-t 95 % confidence interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from bastion.outcome.summary import zero_event_upper95

__all__ = ["paired_differences", "render_difference"]


def paired_differences(a: Any, b: Any, names: list[str]) -> list[dict[str, float | str]]:
    """Per outcome: means of A and B, mean of B − A and its 95 % CI, over paired replications."""
    ra = a.outcomes.column("replication").to_pylist()
    rb = b.outcomes.column("replication").to_pylist()
    if ra != rb or a.seed != b.seed:
        raise ValueError("paired comparison needs the same seed and replications")
    out = []
    for n in names:
        if n not in a.outcomes.column_names or n not in b.outcomes.column_names:
            continue
        x, y = a.column(n), b.column(n)
        ok = np.isfinite(x) & np.isfinite(y)
        d = y[ok] - x[ok]
        k = d.size
        if k == 0:
            continue
        half = (float(stats.t.ppf(0.975, k - 1) * d.std(ddof=1) / math.sqrt(k))
                if k > 1 else math.nan)
        row: dict[str, float | str] = {
            "outcome": n, "a_mean": float(x[ok].mean()), "b_mean": float(y[ok].mean()),
            "diff_mean": float(d.mean()), "ci95_low": float(d.mean() - half),
            "ci95_high": float(d.mean() + half), "n": k}
        if not d.any():
            # B − A = 0 in every pair gives a t-interval of [0, 0], which reads as proof of
            # no effect. All the runs show is that a difference, if any, is rare: bound how
            # often (one-sided 95 %, exact binomial, "rule of three").
            row["p_differ_upper95"] = zero_event_upper95(k)
            row["zero_events"] = float(not x[ok].any())
        out.append(row)
    return out


def render_difference(row: dict[str, float | str]) -> str:
    """The 95 % column of a comparison row, in words when no pair differed."""
    ub = row.get("p_differ_upper95")
    if ub is not None:
        what = "0 in both" if row.get("zero_events") else "no pair differs"
        return f"{what} in {row['n']} runs (differs in ≤ {100 * float(ub):.2g} %)"
    return f"[{float(row['ci95_low']):+.3g}, {float(row['ci95_high']):+.3g}]"
