"""report.html: one self-contained page a planner can open offline or attach to an email.

Everything is inline — CSS in a <style> block, figures as base64 PNG data URIs — so the page
never reaches for a CDN or a sibling file. Every scenario-supplied string goes through
``html.escape`` because names and descriptions are free text from a YAML file.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bastion.assess.identify import threshold_warnings
from bastion.outcome import figures
from bastion.outcome.metrics import HEADLINE

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.coverage import Coverage
    from bastion.sim.montecarlo import MonteCarloResult

__all__ = ["write_html"]

_LABELS = {
    "shot_down": "Hostile drones shot down",
    "forced_down": "Hostile drones forced down by EW",
    "forced_down_crashed": "… of which crashed on landing",
    "leaked": "Hostile drones that reached where they believed their target was",
    "reached_target_area": "Hostile drones that reached where they believed their target "
                           "was (wherever that really is; see miss distance)",
    "drone_hits": "Hostile drones whose warhead hit an asset (within its radius + the "
                  "lethal radius)",
    "asset_hits": "Asset hits (one per drone and asset: two drones on one asset count twice)",
    "assets_hit": "Distinct assets hit",
    "own_aircraft_lost": "Own aircraft shot down",
    "any_asset_hit": "Replications with any asset hit (share)",
    "shots": "Shots fired",
    "cost_usd": "Ammunition cost (US$)",
    "shots_at_birds": "Shots at birds",
    "shots_at_own": "Shots at own aircraft",
    "nfz_impacts": "Impacts in no-fire zones",
}

_CHAIN = (
    ("t_detect_after_launch_s", "First detection", "after launch"),
    ("t_confirm_after_launch_s", "Track confirmed", "after launch"),
    ("t_identify_after_launch_s", "Identified hostile", "after launch"),
    ("mean_kill_margin_s", "Kill margin",
     "flight time the drone still had to its target when it was shot down"),
)

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1c2833;
 margin:0;background:#f4f6f7;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{margin:0 0 4px;font-size:26px}h2{margin-top:36px;border-bottom:2px solid #d5d8dc;
 padding-bottom:4px;font-size:20px}h3{font-size:16px;margin-bottom:6px}
.sub{color:#566573;margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px}
th,td{padding:5px 10px;border-bottom:1px solid #e5e8e8;text-align:left;vertical-align:top}
th{background:#eaeded;font-weight:600}tbody tr:nth-child(even){background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:SFMono-Regular,Consolas,monospace;font-size:12px;color:#566573}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.note{color:#566573;font-size:13px}
.prov td{padding:2px 12px 2px 0;border:0}.prov td:first-child{color:#566573}
ul.rules li{margin:4px 0}
.caveat{background:#fef9e7;border-left:4px solid #f1c40f;padding:8px 14px;margin:12px 0}
footer{margin-top:40px;font-size:13px;color:#424949}
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _num(v: float, digits: int = 3) -> str:
    """Readable number: thousands separators for large values, a dash for missing ones."""
    if v is None or not math.isfinite(v):
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{int(v)}"
    return f"{v:.{digits}g}"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _table(head: list[str], rows: list[list[str]], num_cols: set[int] | None = None,
           cls: str = "") -> str:
    """Cells in ``rows`` must already be escaped HTML."""
    num_cols = num_cols or set()
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in num_cols else f"<td>{c}</td>"
                         for i, c in enumerate(r)) + "</tr>\n" for r in rows)
    c = f' class="{cls}"' if cls else ""
    return f"<table{c}><thead><tr>{th}</tr></thead><tbody>\n{body}</tbody></table>"


# ----------------------------------------------------------------------------- sections


def _header(mc: MonteCarloResult) -> str:
    sc = mc.scenario
    prov = mc.provenance()
    rate = mc.runs / mc.wall_s if mc.wall_s > 0 else math.nan
    rows = [
        ("bastion version", prov["bastion_version"]),
        ("scenario sha256", f"<code>{_e(prov['scenario_sha256'])}</code>"),
        ("seed", prov["seed"]),
        ("replications", prov["runs"]),
        ("workers", prov["workers"]),
        ("wall time", f"{mc.wall_s:.1f} s ({_num(rate)} replications/s)"),
        ("representative replication", mc.representative.replication),
        ("generated", time.strftime("%Y-%m-%d %H:%M %Z")),
    ]
    prov_html = "".join(
        f"<tr><td>{_e(k)}</td><td>{v if k == 'scenario sha256' else _e(v)}</td></tr>"
        for k, v in rows)
    return (f"<h1>Counter-drone site defence — {_e(sc.name)}</h1>\n"
            f'<p class="sub">{_e(sc.description) or "No description."}</p>\n'
            f'<table class="prov">{prov_html}</table>')


def _reference(mc: MonteCarloResult) -> dict[str, tuple[float, str]]:
    ref = mc.scenario.reference_outcome
    if ref is None:
        return {}
    return {k: (f.value, f.source) for k, f in ref.figures.items()}


def _headline(mc: MonteCarloResult, summ: dict[str, dict[str, float]]) -> str:
    ref = _reference(mc)
    rows = []
    for name in HEADLINE:
        if name not in summ:
            continue
        s = summ[name]
        r = ref.get(name)
        ub = s.get("p_nonzero_upper95")
        rows.append([
            f"{_e(_LABELS.get(name, name))}<br><code>{_e(name)}</code>",
            (f"0 in all {mc.runs} runs<br>(in ≤ {100 * ub:.2g} % of raids, 95 %)" if ub
             else f"{_num(s['mean'])} ± {_num(s['se'], 2)}"),
            f"{_num(s['p05'])} – {_num(s['p95'])}",
            _num(r[0]) if r else "",
            _e(r[1]) if r else "",
        ])
    src = mc.scenario.reference_outcome
    note = (f'<p class="note">Reported figures: {_e(src.source)}.</p>'
            if src is not None else
            '<p class="note">This scenario has no reported outcome to compare with.</p>')
    return ("<h2>1. Headline outcomes</h2>\n"
            f'<p class="note">Per replication, over {mc.runs} replications. '
            "± is the Monte Carlo standard error of the mean (it shrinks with more "
            "replications; the 5th–95th percentile range does not).</p>\n"
            + _table(["Outcome", "Mean ± s.e.", "5th–95th pct", "Reported", "Source"], rows,
                     {1, 2, 3})
            + note)


def _map(mc: MonteCarloResult) -> str:
    sc = mc.scenario
    rcs = figures.smallest_rcs_m2(sc)
    radar = (f"Radar rings show the range of 0.9 detection probability on the smallest drone "
             f"in the scenario ({rcs:g} m²), not the radar's quoted range. " if rcs else "")
    none = ("" if mc.representative.trace is not None else
            '<p class="note">No trajectories were recorded in this replication (nothing came '
            "into sensor coverage), so only the layout and events are drawn.</p>")
    return ("<h2>2. Map</h2>\n"
            f'<p class="note">Replication {mc.representative.replication}, the one whose '
            "headline outcomes sit closest to the means. East/north kilometres from the "
            f"scenario origin ({sc.origin.lat_deg:.4f}°, {sc.origin.lon_deg:.4f}°). {radar}"
            f"EO/IR rings use the {'night (IR)' if sc.night else 'day'} range.</p>\n" + none
            + _img(figures.map_overview_png(mc), "map of the whole raid")
            + _img(figures.map_sites_png(mc), "map zoomed on each site")
            + _kit_table(mc))


def _kit_table(mc: MonteCarloResult) -> str:
    """Key to the S1/E1 codes on the site maps, with each ring's radius and meaning."""
    rows = []
    for prefix, items in (("S", mc.scenario.sensors), ("E", mc.scenario.effectors)):
        for i, x in enumerate(items):
            ring = figures.ring_radius_m(mc.scenario, x)
            rows.append([f"{prefix}{i + 1}", _e(x.name), _e(x.kind), _e(x.site),
                         f"{ring[0] / 1000:.1f}" if ring else "—",
                         _e(ring[1]) if ring else "no ring"])
    if not rows:
        return ""
    return ("<h3>Sensors and effectors on the map</h3>"
            + _table(["Code", "Name", "Kind", "Site", "Ring (km)", "Ring shows"], rows, {4}))


def _coverage(cov: Coverage) -> str:
    from bastion.outcome.coverage import coverage_pngs

    t = cov.target
    rf = ("" if t.emits_rf else " Passive RF adds nothing here: at least one raid airframe "
          "has no active link to hear.")
    out = ["<h2>3. Coverage</h2>",
           f'<p class="note">For a drone at <b>{_num(cov.altitude_m)} m</b> with an RCS of '
           f"<b>{_num(cov.rcs_m2)} m²</b> — {_e(t.why)}: the hardest case of this raid. "
           "Pd is the probability of detection in <b>one look</b> (one radar scan, one report "
           "epoch), not over a whole approach: a drone crossing a 0.5 band is usually seen "
           "within a few scans. Combined Pd = 1 − Π(1 − Pd) over each site's searching "
           "sensors (radars, passive RF), <b>treating them as independent</b>. EO/IR turrets "
           "only look where a track already is, so they are drawn on their own but left out "
           "of the combined map. Radars are assumed to see the drone's radial speed above "
           "their MTI notch (true of a drone flying at the site). Outlines: weapon engagement "
           "envelopes (slant range and ceiling only — a shot also needs a good enough track) "
           "and jamming / spoofing footprints for the named airframe's GNSS receiver (or, for "
           "an RF-linked raid, its control link against the pilot's uplink from the launch "
           "point) at its median J/S threshold, drawn only where the jammer's bands cover "
           "that frequency. Hatched: cells inside a radar's maximum range where no "
           f"radar of the site can see the drone (radar horizon over a 4/3 earth, or masked "
           f"sectors); the terrain is otherwise flat.{rf} The same maps are in "
           "<code>coverage.geojson</code>.</p>"]
    for site, png in coverage_pngs(cov):
        out.append(_img(png, f"coverage map of site {site}"))
    rows = [[_e(s.name), _e(name), _e(why)] for s in cov.sites for name, why in s.not_mapped]
    if rows:
        out.append('<p class="note">Sensors without a coverage map:</p>'
                   + _table(["Site", "Sensor", "Why"], rows))
    return "\n".join(out)


def _distributions(mc: MonteCarloResult) -> str:
    ref = {k: v for k, (v, _) in _reference(mc).items()}
    return ("<h2>4. Outcome distributions</h2>\n"
            '<p class="note">How the outcome varies from one replication to the next '
            "(same defence, different draws of launch times, weather, sensor noise and "
            "weapon effects). Red line: mean; green dashed: reported figure.</p>\n"
            + _img(figures.histograms_png(mc, ref), "histograms of outcomes"))


def _timelines(mc: MonteCarloResult, summ: dict[str, dict[str, float]]) -> str:
    out = ["<h2>5. Kill chain</h2>"]
    tl = figures.timeline_png(mc)
    if tl is None:
        out.append('<p class="note">No hostile drone events in the representative '
                   "replication.</p>")
    else:
        png, shown, total = tl
        more = (f" The first {shown} of {total} drones to launch are shown."
                if shown < total else "")
        out.append(f'<p class="note">Each hostile drone of replication '
                   f"{mc.representative.replication}, from launch to its end. A dotted line "
                   f"means it was still flying when the run ended.{more}</p>")
        out.append(_img(png, "kill-chain timeline per drone"))
    rows = []
    for key, label, what in _CHAIN:
        s = summ.get(key)
        if s is None:
            continue
        rows.append([_e(label), f"{_num(s['mean'])} ± {_num(s['se'], 2)}",
                     _num(s["mean"] / 60.0, 3), f"{_num(s['p05'])} – {_num(s['p95'])}",
                     _e(what)])
    if rows:
        out.append("<h3>Mean kill-chain times over all replications</h3>")
        out.append(_table(["Step", "Mean ± s.e. (s)", "Mean (min)", "5th–95th pct (s)",
                           "Measured"], rows, {1, 2, 3}))
        out.append('<p class="note">Each replication contributes the mean over its drones '
                   "that reached the step; drones that never did are left out.</p>")
    return "\n".join(out)


_GROUND = (
    ("intruders_stopped", "Intruders stopped", "by the reaction force, per replication"),
    ("intruders_reached_asset", "Intruders at their asset", "within its radius, unstopped"),
    ("breach_to_alarm_s", "Breach to alarm (s)", "mean over groups: first detection + latency"),
    ("breach_to_stop_s", "Breach to stop (s)", "mean over the people stopped"),
)
_GROUND_KINDS = ("intrusion", "intrusion_alarm", "intruders_stopped",
                 "intruders_reached_asset")


def _ground(mc: MonteCarloResult, summ: dict[str, dict[str, float]]) -> str:
    """People on foot: outcome figures over all replications and the representative
    replication's intrusion timeline (``sim/sensors/perimeter.py``)."""
    if not mc.scenario.intruders:
        return ""
    n = sum(g.count for g in mc.scenario.intruders)
    out = ["<h3>Ground intrusion (people on foot)</h3>",
           f'<p class="note">{n} intruders in {len(mc.scenario.intruders)} group(s), '
           f"{'at night (cameras on thermal only)' if mc.scenario.night else 'by day'}. "
           "Per replication, mean ± standard error.</p>"]
    rows = []
    for key, label, what in _GROUND:
        st = summ.get(key)
        if st is None:
            continue
        rows.append([_e(label), f"{_num(st['mean'])} ± {_num(st['se'], 2)}",
                     f"{_num(st['p05'])} – {_num(st['p95'])}", _e(what)])
    out.append(_table(["Outcome", "Mean ± s.e.", "5th–95th pct", "Measured"], rows, {1, 2}))
    rep = mc.representative
    ev = rep.events.to_pylist()
    tl = [[_num(r["t_s"]), _e(r["kind"].replace("_", " ")),
           _num(r["value"]) if r["kind"] != "intrusion_alarm" else f"{_num(r['value'])} s "
           "after the breach", _e(r["detail"])]
          for r in ev if r["kind"] in _GROUND_KINDS]
    if tl:
        out.append(f"<h3>Intrusion timeline, replication {rep.replication}</h3>")
        out.append(_table(["t (s)", "Event", "People / delay", "Site / asset"], tl, {0}))
    return "\n".join(out)


def _effector_stats(mc: MonteCarloResult, summ: dict[str, dict[str, float]]
                    ) -> list[dict[str, Any]]:
    stats = []
    for e in mc.scenario.effectors:
        s = summ.get(f"shots:{e.name}")
        c = summ.get(f"cost_usd:{e.name}")
        if s is None and c is None:
            continue
        nan = {"mean": math.nan, "se": math.nan, "p05": math.nan, "p95": math.nan}
        stats.append(dict(eff=e, shots=s or nan, cost=c or nan,
                          magazine=getattr(e, "magazine", None)))
    return stats


def _effectors(mc: MonteCarloResult, stats: list[dict[str, Any]]) -> str:
    if not stats:
        return "<h2>6. Shots and cost per effector</h2>\n<p>No effectors.</p>"
    on = _jammer_on_counts(mc)
    rows = []
    for st in stats:
        e, s, c = st["eff"], st["shots"], st["cost"]
        use = (f"on in {on.get(e.name, 0)} of {mc.runs} replications"
               if e.kind == "jammer" else "")
        rows.append([_e(e.name), _e(e.kind), _e(e.site),
                     f"{_num(s['mean'])} ± {_num(s['se'], 2)}", _num(s["p95"]),
                     _num(st["magazine"]) if st["magazine"] is not None else "—",
                     f"{_num(c['mean'])} ± {_num(c['se'], 2)}", use])
    png = figures.effector_png(
        [st["eff"].name for st in stats],
        [(st["shots"]["mean"], st["shots"]["se"]) for st in stats],
        [(st["cost"]["mean"], st["cost"]["se"]) for st in stats],
        [st["magazine"] for st in stats])
    return ("<h2>6. Shots and cost per effector</h2>\n"
            '<p class="note">Per replication, mean ± standard error. Jammers fire no '
            "“shots”: their use is shown as the replications in which they radiated.</p>\n"
            + _img(png, "shots and cost per effector")
            + _table(["Effector", "Kind", "Site", "Shots", "Shots p95", "Magazine",
                      "Cost (US$)", "Use"], rows, {3, 4, 5, 6}))


def _jammer_on_counts(mc: MonteCarloResult) -> dict[str, int]:
    """Replications in which each jammer radiated at least once."""
    ev = mc.events.select(["replication", "kind", "effector"]).to_pydict()
    names = [e.name for e in mc.scenario.effectors]
    seen = {(r, f) for r, k, f in zip(ev["replication"], ev["kind"], ev["effector"],
                                      strict=True) if k == "jammer_on" and 0 <= f < len(names)}
    out: dict[str, int] = {}
    for _, f in seen:
        out[names[f]] = out.get(names[f], 0) + 1
    return out


def _leak_sites(mc: MonteCarloResult) -> list[tuple[str, int]]:
    """(site, leaks + hits) nearest to where drones got through, all replications, most first."""
    from bastion.scenario import Frame

    ev = mc.events.select(["kind", "x_m", "y_m"]).to_pydict()
    pts = np.array([(x, y) for k, x, y in zip(ev["kind"], ev["x_m"], ev["y_m"], strict=True)
                    if k in ("leaked", "asset_hit") and math.isfinite(x) and math.isfinite(y)])
    if pts.size == 0:
        return []
    frame = Frame(mc.scenario.origin)
    centres = np.array([np.mean([frame.point(a.position)[:2] for a in s.assets], axis=0)
                        for s in mc.scenario.sites])
    near = np.argmin(np.linalg.norm(pts[:, None, :] - centres[None], axis=2), axis=1)
    counts = np.bincount(near, minlength=len(centres))
    return [(mc.scenario.sites[i].name, int(counts[i])) for i in np.argsort(-counts, kind="stable")
            if counts[i] > 0]


def _shots_at_captured(mc: MonteCarloResult) -> tuple[int, int]:
    """(shots, drones) over all replications: kinetic fire at drones a spoofer had captured.

    A captured drone is already being pushed off its approach; firing on it spends a missile
    on a threat EW has dealt with, and turns a recoverable drone into debris.
    """
    ev = mc.events.select(["replication", "t_s", "kind", "drone"]).to_pydict()
    captured: dict[tuple[int, int], float] = {}
    rows = list(zip(ev["replication"], ev["t_s"], ev["kind"], ev["drone"], strict=True))
    for r, t, k, d in rows:
        if k == "spoofed" and d >= 0:
            captured.setdefault((r, d), t)
    shots, drones = 0, set()
    for r, t, k, d in rows:
        if k == "fired" and (r, d) in captured and t > captured[(r, d)]:
            shots += 1
            drones.add((r, d))
    return shots, len(drones)


def _unidentified_leakers(mc: MonteCarloResult) -> tuple[int, int]:
    """(drones that reached their target area with a confirmed track but never identified
    hostile, drones that reached their target area), over all replications."""
    ev = mc.events.select(["replication", "kind", "drone"]).to_pydict()
    marks: dict[str, set[tuple[int, int]]] = {"confirmed": set(), "identified": set(),
                                              "leaked": set()}
    for r, k, d in zip(ev["replication"], ev["kind"], ev["drone"], strict=True):
        if k in marks and d >= 0:
            marks[k].add((r, d))
    through = marks["leaked"]
    unid = {x for x in through if x in marks["confirmed"] and x not in marks["identified"]}
    return len(unid), len(through)


def _rules(mc: MonteCarloResult, summ: dict[str, dict[str, float]],
           stats: list[dict[str, Any]]) -> str:
    """Plain if-this-then-consider rules. They point at where to look, not at an answer."""
    def mean(name: str) -> float:
        v = summ.get(name, {}).get("mean", math.nan)
        return v if math.isfinite(v) else 0.0

    items: list[str] = []
    for w in threshold_warnings(mc.scenario):
        items.append(f"<b>Identification</b>: {_e(w)}.")
    unid, through = _unidentified_leakers(mc)
    ident_cause = through > 0 and unid >= 0.5 * through
    if ident_cause:
        items.append(f"<b>Identification is the cause</b>: {_num(unid / mc.runs)} of the "
                     f"{_num(through / mc.runs)} drones per replication that reached their "
                     "target area had a confirmed track but never reached the engagement "
                     "threshold P(hostile). Before more effectors or detection: class "
                     "evidence (EO/IR on the approach, passive RF against linked drones), "
                     "the identification priors and profiles (scenario `identification:`), "
                     "or a lower P(hostile) threshold.")
    if mean("reached_target_area") > 0 or mean("assets_hit") > 0:
        sites = _leak_sites(mc)
        where = (" on the approach to " + ", ".join(f"{_e(s)} ({n} over all runs)"
                                                    for s, n in sites)) if sites else ""
        fix = ("once identification is fixed, " if ident_cause else "") + (
            "more or longer-ranged effectors, or earlier detection")
        items.append(f"<b>Drones get through</b> (reached their target area "
                     f"{_num(mean('reached_target_area'))}, warheads on assets "
                     f"{_num(mean('drone_hits'))}, assets hit {_num(mean('assets_hit'))} per "
                     f"replication): {fix}{where}, so there is time for more than one "
                     "engagement.")
    if mean("own_aircraft_lost") > 0:
        items.append(f"<b>Own aircraft shot down</b> ({_num(mean('own_aircraft_lost'))} per "
                     "replication): IFF coverage and transponder discipline, weapons tight "
                     "near the runway, or a crew that checks every proposal.")
    km = summ.get("mean_kill_margin_s", {}).get("mean", math.nan)
    if math.isfinite(km) and km < 60:
        items.append(f"<b>Kills come late</b> (mean kill margin {_num(km)} s): a miss leaves "
                     "little time for a second shot. Earlier detection or confirmation, or a "
                     "shorter operator decision time, buys margin.")
    if mean("shots_at_birds") > 0:
        items.append(f"<b>Shots at birds</b> ({_num(mean('shots_at_birds'))} per "
                     "replication): better classification (EO/IR coverage on the approach) "
                     "or a higher P(hostile) engagement threshold.")
    if mean("shots_at_own") > 0:
        items.append(f"<b>Shots at own aircraft</b> ({_num(mean('shots_at_own'))} per "
                     "replication): check IFF coverage and transponder discipline; consider "
                     "weapons tight near the runway.")
    if mean("false_track_shots") > 0:
        items.append(f"<b>Shots at nothing real</b> ({_num(mean('false_track_shots'))} per "
                     "replication, no object near the track when fired): false tracks call for "
                     "stricter confirmation; stale tracks of a drone just shot down call for "
                     "faster kill assessment before a second effector fires.")
    cap_shots, cap_drones = _shots_at_captured(mc)
    if cap_shots:
        items.append(f"<b>Kinetic fire on drones the spoofer had already captured</b> "
                     f"({_num(cap_shots / mc.runs)} shots per replication at "
                     f"{_num(cap_drones / mc.runs)} captured drones): pass spoof capture to "
                     "the fire-control picture (doctrine.hold_fire_on_spoofed), or push "
                     "captured drones away from the kinetic envelope (spoof_push_deg), so "
                     "missiles are not spent on drones EW has already dealt with.")
    if mean("nfz_impacts") > 0:
        items.append(f"<b>Impacts in no-fire zones</b> ({_num(mean('nfz_impacts'))} per "
                     "replication): a tighter ε (doctrine.nfz_epsilon), or effectors sited so "
                     "their lines of fire do not cross the zones.")
    if mean("own_aircraft_jammed") > 0:
        items.append(f"<b>Own aircraft jammed</b> ({_num(mean('own_aircraft_jammed'))} per "
                     "replication): restrict jammer sectors or activation range near "
                     "approach paths.")
    for st in stats:
        mag, s = st["magazine"], st["shots"]
        if mag and math.isfinite(s["p95"]) and s["p95"] >= 0.8 * mag:
            items.append(f"<b>{_e(st['eff'].name)} runs low on ammunition</b>: 95th "
                         f"percentile {_num(s['p95'])} shots against a magazine of {mag}. "
                         "A bigger raid would exhaust it; add launchers or shorten reload.")
    cost = {st["eff"].kind: 0.0 for st in stats}
    for st in stats:
        cost[st["eff"].kind] += st["cost"]["mean"] if math.isfinite(st["cost"]["mean"]) else 0
    total = sum(cost.values())
    on = _jammer_on_counts(mc)
    idle = [st["eff"].name for st in stats
            if (st["eff"].kind == "gun" and st["shots"]["mean"] == 0)
            or (st["eff"].kind == "jammer" and on.get(st["eff"].name, 0) == 0)]
    if total > 0 and cost.get("missile", 0.0) / total > 0.8 and idle:
        items.append(f"<b>Cost is dominated by missiles</b> ({_num(100 * cost['missile'] / total)}"
                     f"% of US${_num(total)} per replication) while "
                     f"{', '.join(_e(n) for n in idle)} sat idle: consider soft-kill-first "
                     "doctrine, a non-zero cost weight, or letting guns take close targets.")
    ref = _reference(mc)
    off = []
    for name, (value, _) in ref.items():
        s = summ.get(name)
        if s is None or not math.isfinite(s["mean"]):
            continue
        band = max(2 * (s["se"] if math.isfinite(s["se"]) else 0.0), 0.5)
        if abs(s["mean"] - value) > band:
            off.append(f"{_e(name)} {_num(s['mean'])} vs {_num(value)} reported")
    if off:
        items.append("<b>The model disagrees with the reported outcome</b> ("
                     + "; ".join(off) + "): before acting on the rules above, check the "
                     "assumed parameters in the table below — the model, not the record, is "
                     "the likelier to be wrong.")
    body = ("<ul class=\"rules\">" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
            if items else "<p>No rule fired: nothing in these numbers points at an obvious "
            "change.</p>")
    return ("<h2>7. What to change</h2>\n"
            '<p class="note">Heuristic rules applied to the means above. They suggest where '
            "to look, not what to buy: test any change by running the scenario again with "
            "it (the same seed gives a paired comparison).</p>\n" + body)


def _footer(mc: MonteCarloResult) -> str:
    sc = mc.scenario
    rows = [[f"<code>{_e(a.path)}</code>", _num(a.low), _num(a.high), _e(a.reason)]
            for a in sc.assumptions]
    table = (_table(["Parameter", "Low", "High", "Why this range"], rows, {1, 2})
             if rows else "<p>This scenario lists no assumed parameters.</p>")
    notes = ""
    ref = sc.reference_outcome
    if ref is not None and ref.notes:
        notes = ("<h3>Notes on the reported outcome</h3><ul>"
                 + "".join(f"<li>{_e(n)}</li>" for n in ref.notes) + "</ul>")
    return ("<footer><h2>8. Caveats and assumptions</h2>\n"
            '<div class="caveat">Every figure on this page comes from a model: simplified '
            "sensors, tracker, threat assessment, weapons and drones, on flat terrain, driven "
            "by parameters that are mostly assumed rather than measured. Use it to compare "
            "options against each other, not as a prediction of what will happen. The "
            "standard errors cover Monte Carlo noise only, not the uncertainty in the "
            "parameters below; <code>bastion validate</code> varies those one at a time."
            "</div>\n"
            "<h3>Assumed parameters</h3>\n" + table + notes
            + f'<p class="note">bastion {_e(mc.provenance()["bastion_version"])} · scenario '
            f"sha256 <code>{_e(mc.scenario_hash)}</code> · seed {mc.seed}</p></footer>")


def write_html(mc: MonteCarloResult, path: Path, coverage: Coverage | None = None) -> Path:
    """Write the self-contained analysis report for ``mc`` to ``path``; return ``path``.
    ``coverage``: the maps to draw (default ``mc.coverage()``, the scenario's hardest case)."""
    path = Path(path)
    summ = mc.summary()
    stats = _effector_stats(mc, summ)
    parts = [
        _header(mc),
        _headline(mc, summ),
        _map(mc),
        _coverage(coverage if coverage is not None else mc.coverage()),
        _distributions(mc),
        _timelines(mc, summ),
        _ground(mc, summ),
        _effectors(mc, stats),
        _rules(mc, summ, stats),
        _footer(mc),
    ]
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           # provenance for a report found on its own (also in summary.json and the parquets)
           f'<meta name="bastion-provenance" content="{_e(json.dumps(mc.provenance()))}">'
           f"<title>bastion report — {_e(mc.scenario.name)}</title>"
           f"<style>{_CSS}</style></head>\n<body><main>\n" + "\n".join(parts)
           + "\n</main></body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path
