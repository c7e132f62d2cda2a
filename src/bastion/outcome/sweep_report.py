"""The sweep report: response curves with 95 % bands, the points table, the goal's answer.

Written like the analysis report (staged, swapped in whole, provenance in every file):
``sweep.parquet`` (one row per point and replication), ``sweep_summary.json`` and
``sweep.html``. Curves: each outcome's mean against the first varied field with its 95 %
confidence band (Student t over the paired replications), one line per value of the second
field when there is one (up to six; a heat map of the mean otherwise).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq

from bastion.outcome.html import _CSS, _LABELS, _e, _img, _num, _table
from bastion.outcome.output import Staged, staged_output
from bastion.outcome.report import _with_provenance
from bastion.outcome.summary import _clean

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.sweep import SweepResult

__all__ = ["CURVES", "write_sweep_report"]

CURVES = ("reached_target_area", "drone_hits", "any_asset_hit", "shot_down", "forced_down",
          "shots", "cost_usd")


def _curves_png(res: SweepResult, names: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bastion.outcome.figures import _png

    rows = res.summary()
    a0 = res.axes[0]
    a1 = res.axes[1] if len(res.axes) > 1 else None
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[a1.path] if a1 else None, []).append(r)
    heat = a1 is not None and (len(groups) > 6 or res.design != "grid")
    for ax, name in zip(axs.flat, names, strict=False):
        if heat:
            x = np.array([float(r[a0.path]) for r in rows])
            y = np.array([float(r[a1.path]) for r in rows])  # type: ignore[union-attr]
            z = np.array([r["outcomes"].get(name, {}).get("mean", np.nan) for r in rows])
            sc = ax.scatter(x, y, c=z, cmap="viridis", s=40)
            fig.colorbar(sc, ax=ax, shrink=0.8)
            ax.set_ylabel(a1.path, fontsize=7)  # type: ignore[union-attr]
        else:
            for g, pts in groups.items():
                pts = sorted(pts, key=lambda r: float(r[a0.path]))
                x = np.array([float(r[a0.path]) for r in pts])
                s = [r["outcomes"].get(name, {}) for r in pts]
                m = np.array([v.get("mean", np.nan) for v in s])
                lo = np.array([v.get("ci95_low", np.nan) for v in s])
                hi = np.array([v.get("p_nonzero_upper95", v.get("ci95_high", np.nan))
                               for v in s])
                label = f"{a1.path.rsplit('.', 1)[-1]} = {g:g}" if a1 is not None else None
                (line,) = ax.plot(x, m, marker="o", ms=3, lw=1.2, label=label)
                ax.fill_between(x, np.where(np.isfinite(lo), lo, m),
                                np.where(np.isfinite(hi), hi, m), color=line.get_color(),
                                alpha=0.18, lw=0)
            if a1 is not None:
                ax.legend(fontsize=6)
        ax.set_title(_LABELS.get(name, name), fontsize=9)
        ax.set_xlabel(a0.path, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axs.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def _best_html(best: dict[str, Any] | None, res: SweepResult) -> str:
    if best is None:
        return ""
    b = best["best"]
    if b is None:
        return (f"<p><b>Goal {_e(best['goal'])}: no point meets it</b> (on the mean). Widen "
                "the ranges or change other fields.</p>")
    setting = ", ".join(f"<code>{_e(a.path)}</code> = {_e(b[a.path])}" for a in res.axes)
    s = b["outcomes"][best["outcome"]]
    how = ("with 95 % confidence" if best["confident"] else
           "on the mean only — no point meets it with 95 % confidence; run more replications")
    return (f"<p><b>Goal {_e(best['goal'])}</b>: {best['points_meeting']} of "
            f"{len(res.points)} points meet it on the mean, {best['points_meeting_95']} with "
            f"95 % confidence. Least <code>{_e(best['minimise'])}</code> among them: "
            f"{setting} (mean {_num(s['mean'])}, bound {_num(best['best_bound'])}; {how}).</p>")


def write_sweep_report(res: SweepResult, out_dir: str | Path,
                       best: dict[str, Any] | None = None) -> Staged:
    prov = res.provenance()
    rows = res.summary()
    names = [n for n in CURVES if n in res.outcome_names()]
    with staged_output(out_dir) as st:
        pq.write_table(_with_provenance(res.table, prov), st.stage / "sweep.parquet")
        summ = {"provenance": prov, "wall_s": res.wall_s, "goal": best, "points": rows}
        (st.stage / "sweep_summary.json").write_text(
            json.dumps(_clean(summ), indent=2, default=str) + "\n")
        head = [*(f"<code>{_e(a.path)}</code>" for a in res.axes),
                *(_e(_LABELS.get(n, n)) for n in names)]
        body = []
        for r in rows:
            cells = [_e(r[a.path]) for a in res.axes]
            for n in names:
                s = r["outcomes"].get(n)
                cells.append("" if s is None else
                             f"{_num(s['mean'])} [{_num(s['ci95_low'])}, {_num(s['ci95_high'])}]"
                             if "p_nonzero_upper95" not in s else
                             f"0 (≤ {_num(s['p_nonzero_upper95'])})")
            body.append(cells)
        doc = (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta name="bastion-provenance" content="{_e(json.dumps(prov))}">'
            f"<title>bastion sweep — {_e(res.scenario.name)}</title><style>{_CSS}</style>"
            "</head>\n<body><main>\n"
            f"<h1>Sweep: {_e(res.scenario.name)}</h1>\n"
            f'<p class="sub">{len(res.points)} points × {res.runs} replications on the same '
            f"seeds ({res.seed}): differences between points are paired. "
            f"{res.wall_s:.0f} s on {res.workers} workers.</p>\n"
            + _best_html(best, res)
            + "<h2>Response curves</h2>\n<p class=\"note\">Mean per replication with its "
            "95 % confidence band (for an outcome never seen at a point, the band reaches "
            "its one-sided 95 % upper bound).</p>\n"
            + _img(_curves_png(res, names), "response curves")
            + "<h2>Points</h2>\n<p class=\"note\">Mean [95 % interval] per point.</p>\n"
            + _table(head, body, set(range(len(res.axes), len(head))))
            + f'<p class="note">bastion {_e(prov["bastion_version"])} · scenario sha256 '
            f"<code>{_e(prov['scenario_sha256'])}</code> · seed {res.seed}. Query the "
            "table: <code>bastion query DIR \"SELECT ... FROM sweep\"</code>.</p>"
            "\n</main></body></html>\n")
        (st.stage / "sweep.html").write_text(doc, encoding="utf-8")
    return st
