"""Matplotlib figures for report.html: map, outcome histograms, kill-chain timelines, effectors.

Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas rather than through
pyplot: a library must not switch the caller's backend (a notebook user keeps theirs), no
global figure registry means nothing leaks if a figure raises half-way, and it renders
headless. Every function returns PNG bytes ready to embed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Polygon
from numpy.typing import NDArray

from bastion.respond.jamming import radius_m as jam_radius_m
from bastion.respond.planner import NOMINAL_RX
from bastion.scenario import Frame

if TYPE_CHECKING:  # pragma: no cover
    from bastion.scenario.schema import Scenario
    from bastion.sim.montecarlo import MonteCarloResult

__all__ = [
    "effector_png",
    "histograms_png",
    "map_overview_png",
    "map_sites_png",
    "ring_radius_m",
    "timeline_png",
]

DPI = 100
# Points per polyline kind beyond which trajectories are thinned: the map needs shape, not
# every 1 s step, and a 100-drone raid must still render in well under a second.
_MAX_TRUTH_POINTS = 30_000
_MAX_TRACK_POINTS = 20_000
# Half-width of a site zoom panel: covers the Pd-0.9 radar ring and missile envelope of a
# typical SHORAD site while keeping the assets legible.
SITE_HALF_WIDTH_KM = 15.0
# Timelines beyond this many drones become unreadable; the rest are summarised in text.
MAX_TIMELINE_DRONES = 40

_KIND_STYLE = {0: ("#c0392b", "hostile drone (truth)"), 1: ("#9a9a9a", "bird (truth)"),
               2: ("#1f5fbf", "own aircraft (truth)")}
_TRACK_COLOUR = "#17a589"
_EVENT_STYLE: dict[str, dict[str, Any]] = {
    "killed": dict(marker="X", color="black", s=55, label="shot down"),
    "killed_other": dict(marker="x", color="#7f8c8d", s=40, label="bird / own aircraft shot down"),
    "landed": dict(marker="v", color="#1e8449", s=55, label="forced down: landed"),
    "crashed": dict(marker="v", color="#e67e22", s=55, label="forced down: crashed"),
    "spoofed": dict(marker="o", facecolors="none", edgecolors="#8e44ad", s=40,
                    label="GNSS spoof capture"),
    "leaked": dict(marker="*", color="#e74c3c", s=140, label="reached target area"),
    "asset_hit": dict(marker="*", color="#7b241c", s=220, label="asset hit"),
    "nfz_impact": dict(marker="P", color="#d81b60", s=70, label="impact in no-fire zone"),
}
_EFFECTOR_COLOUR = {"missile": "#b03a2e", "gun": "#d68910", "jammer": "#7d3c98"}
_SENSOR_COLOUR = {"radar": "#2471a3", "eoir": "#148f77", "rf": "#5d6d7e", "iff": "#85929e",
                  "perimeter": "#5d6d7e"}


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    fig.clear()  # release artists promptly; the figure is never reused
    return buf.getvalue()


# ----------------------------------------------------------------------------- geometry


def smallest_rcs_m2(sc: Scenario) -> float | None:
    rcs = [a.rcs_m2 for a in sc.airframes.values()]
    return min(rcs) if rcs else None


def ring_radius_m(sc: Scenario, item: Any) -> tuple[float, str] | None:
    """The coverage / reach ring drawn for a sensor or effector, with its legend text.

    Radar: the Pd-0.9 range on the smallest drone RCS in the scenario (radar range scales as
    RCS^¼), because the quoted reference range flatters a radar against small drones.
    """
    kind = item.kind
    if kind == "radar":
        rcs = smallest_rcs_m2(sc)
        if rcs is None:
            return item.range_pd90_m, f"Pd 0.9 on a {item.reference_rcs_m2:g} m² target"
        r = item.range_pd90_m * (rcs / item.reference_rcs_m2) ** 0.25
        return min(r, item.max_range_m), f"Pd 0.9 on a {rcs:g} m² drone"
    if kind == "eoir":
        return ((item.range_night_m, "IR range (night)") if sc.night
                else (item.range_day_m, "EO range (day)"))
    if kind in ("rf", "iff"):
        return item.range_m, "range"
    if kind in ("gun", "missile"):
        return item.max_range_m, "max range"
    if kind == "jammer":
        # at the planner's nominal GPS L1 receiver
        rx = NOMINAL_RX
        margin = item.spoof_capture_margin_db if item.mode == "spoof" else rx["threshold_db"]
        r = jam_radius_m(item.eirp_dbw, rx["gnss_mhz"], rx["g_rx_dbi"], rx["signal_dbw"], margin)
        # a strong low-frequency jammer reaches past the map: a circle larger than the frame
        # says nothing more, and a huge one makes matplotlib crawl
        r = min(r, 1_000_000.0)
        return r, ("spoof capture radius" if item.mode == "spoof" else "jamming radius")
    return None


def _polylines(ids: NDArray[Any], t: NDArray[Any], pos: NDArray[Any], max_points: int
               ) -> dict[int, NDArray[np.float64]]:
    """(k, 2) km polylines per id, time-ordered, thinned to about ``max_points`` in total."""
    if ids.size == 0:
        return {}
    order = np.lexsort((t, ids))
    ids_s = ids[order]
    xy = pos[order, :2] / 1000.0
    stride = max(1, math.ceil(ids.size / max_points))
    starts = np.flatnonzero(np.r_[True, ids_s[1:] != ids_s[:-1]])
    ends = np.r_[starts[1:], ids_s.size]
    out = {}
    for a, b in zip(starts, ends, strict=True):
        seg = xy[a:b]
        if stride > 1 and seg.shape[0] > 2:
            # keep the last point so a trajectory still ends where the drone ended
            seg = np.vstack([seg[::stride], seg[-1:]])
        out[int(ids_s[a])] = seg
    return out


class _MapData:
    """Everything the two map figures draw, converted once to ENU km."""

    def __init__(self, mc: MonteCarloResult) -> None:
        sc = mc.scenario
        self.sc = sc
        frame = Frame(sc.origin)
        self.sites = []
        for s in sc.sites:
            assets = [(a.name, frame.point(a.position)[:2] / 1000.0, a.radius_m / 1000.0)
                      for a in s.assets]
            fence = frame.polygon(s.fence) / 1000.0 if s.fence else None
            nfz = [(z.name, frame.polygon(z.polygon) / 1000.0) for z in s.no_fire_zones]
            centre = np.mean([p for _, p, _ in assets], axis=0)
            self.sites.append(dict(name=s.name, assets=assets, fence=fence, nfz=nfz,
                                   centre=centre))
        self.sensors = [(x, frame.point(x.position)[:2] / 1000.0, ring_radius_m(sc, x))
                        for x in sc.sensors]
        self.effectors = [(x, frame.point(x.position)[:2] / 1000.0, ring_radius_m(sc, x))
                          for x in sc.effectors]
        # Co-located kit (a launcher's gun and missile, a mast of sensors) shares one label
        # so the zoom stays legible; the table in the report maps the codes to names.
        groups: dict[tuple[int, int], list[str]] = {}
        where: dict[tuple[int, int], NDArray[np.float64]] = {}
        for prefix, items in (("S", self.sensors), ("E", self.effectors)):
            for i, (_, p, _) in enumerate(items):
                key = (round(p[0] * 10), round(p[1] * 10))  # 100 m cells
                groups.setdefault(key, []).append(f"{prefix}{i + 1}")
                where.setdefault(key, p)
        self.labels = [(",".join(v), where[k]) for k, v in groups.items()]
        self.divert = [(x.name, frame.point(x.divert_to)[:2] / 1000.0) for x in sc.effectors
                       if x.kind == "jammer" and x.divert_to is not None]
        tr = mc.representative.trace
        self.truth: dict[int, NDArray[np.float64]] = {}
        self.tracks: dict[int, NDArray[np.float64]] = {}
        self.kind = np.zeros(0, np.int8)
        if tr is not None:
            self.kind = np.asarray(tr["truth_kind"])
            self.truth = _polylines(np.asarray(tr["truth_row"]), np.asarray(tr["truth_t"]),
                                    np.asarray(tr["truth_pos"]), _MAX_TRUTH_POINTS)
            self.tracks = _polylines(np.asarray(tr["track_id"]), np.asarray(tr["track_t"]),
                                     np.asarray(tr["track_pos"]), _MAX_TRACK_POINTS)
        ev = mc.representative.events
        kind = np.asarray(ev.column("kind").to_pylist(), dtype=object)
        detail = np.asarray(ev.column("detail").to_pylist(), dtype=object)
        drone = ev.column("drone").to_numpy(zero_copy_only=False)
        xy = np.column_stack([ev.column("x_m").to_numpy(zero_copy_only=False),
                              ev.column("y_m").to_numpy(zero_copy_only=False)]) / 1000.0
        self.points: dict[str, NDArray[np.float64]] = {}
        for key in _EVENT_STYLE:
            if key in ("landed", "crashed"):
                m = (kind == "forced_down") & (detail == key)
            elif key == "killed":
                m = (kind == "killed") & (drone >= 0)
            elif key == "killed_other":
                m = (kind == "killed") & (drone < 0)
            else:
                m = kind == key
            p = xy[m.astype(bool)]
            p = p[np.all(np.isfinite(p), axis=1)]
            if p.size:
                self.points[key] = p
        launched = xy[(kind == "launched").astype(bool)]
        self.launch = launched[np.all(np.isfinite(launched), axis=1)]

    def extent(self) -> tuple[float, float, float, float]:
        pts = [s["centre"][None] for s in self.sites]
        pts += [p[None] for _, p, _ in self.sensors] + [p[None] for _, p, _ in self.effectors]
        # whole weapon and radar rings, so a site near the edge is not cut in half; IFF / RF
        # rings are left out because they are wide and say little about the defence
        for x, p, ring in self.sensors + self.effectors:
            if ring is not None and x.kind not in ("iff", "rf"):
                r = ring[0] / 1000.0
                pts.append(np.array([[p[0] - r, p[1] - r], [p[0] + r, p[1] + r]]))
        pts += [xy for r, xy in self.truth.items() if r < self.kind.size and self.kind[r] == 0]
        pts += [self.launch, *self.points.values()]
        allp = np.vstack([p for p in pts if p.size])
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        pad = max(2.0, 0.05 * float(np.max(hi - lo)))
        return lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad


def _draw_map(ax: Any, d: _MapData, *, zoom: bool) -> list[Any]:
    """Draw every layer on ``ax``; return legend handles for the layers present."""
    handles: list[Any] = []
    ax.set_aspect("equal")
    ax.set_facecolor("#fbfbf8")
    ax.grid(True, color="#dddddd", lw=0.5)
    ax.set_xlabel("east of origin (km)")
    ax.set_ylabel("north of origin (km)")
    # truth trajectories, by kind, under everything else
    for k, (colour, label) in _KIND_STYLE.items():
        segs = [xy for r, xy in d.truth.items()
                if r < d.kind.size and d.kind[r] == k and xy.shape[0] > 1]
        if segs:
            lw, alpha = (1.3, 0.9) if k == 0 else (0.6, 0.6)
            ax.add_collection(LineCollection(segs, colors=colour, linewidths=lw, alpha=alpha,
                                             zorder=2))
            handles.append(Line2D([], [], color=colour, lw=lw, label=label))
    segs = [xy for xy in d.tracks.values() if xy.shape[0] > 1]
    if segs:
        ax.add_collection(LineCollection(segs, colors=_TRACK_COLOUR, linewidths=0.8,
                                         linestyles="--", alpha=0.9, zorder=3))
        handles.append(Line2D([], [], color=_TRACK_COLOUR, lw=0.8, ls="--",
                              label="confirmed track"))
    if d.launch.size:
        ax.scatter(d.launch[:, 0], d.launch[:, 1], marker=".", color="#c0392b", s=12, zorder=4)
        handles.append(Line2D([], [], marker=".", color="#c0392b", ls="", label="launch point"))
    # sites
    for s in d.sites:
        if s["fence"] is not None:
            ax.add_patch(Polygon(s["fence"], closed=True, fill=False, ec="#34495e", lw=1.0,
                                 zorder=5))
        for _, poly in s["nfz"]:
            # translucent fill but an opaque hatch: a patch-wide alpha would fade the hatch
            ax.add_patch(Polygon(poly, closed=True, fc=(0.91, 0.30, 0.24, 0.12), ec="#c0392b",
                                 hatch="///", lw=0.8, zorder=5))
        for name, p, r in s["assets"]:
            ax.add_patch(Circle(p, r, fc="#f4d03f", ec="#7d6608", lw=0.8, zorder=6))
            if zoom:
                ax.annotate(name, p, xytext=(4, 4), textcoords="offset points", fontsize=7,
                            color="#7d6608", zorder=9)
        if not zoom:
            ax.annotate(s["name"], s["centre"], xytext=(6, -10), textcoords="offset points",
                        fontsize=9, weight="bold", color="#34495e", zorder=9)
    if any(s["fence"] is not None for s in d.sites):
        handles.append(Line2D([], [], color="#34495e", lw=1.0, label="fence"))
    if any(s["nfz"] for s in d.sites):
        from matplotlib.patches import Patch
        handles.append(Patch(fc=(0.91, 0.30, 0.24, 0.12), hatch="///", ec="#c0392b",
                             label="no-fire zone"))
    handles.append(Line2D([], [], marker="o", color="#f4d03f", mec="#7d6608", ls="",
                          label="asset (hit radius)"))
    # sensors and effectors with their rings
    seen: set[str] = set()
    for items, colours, marker, ls in ((d.sensors, _SENSOR_COLOUR, "^", "--"),
                                        (d.effectors, _EFFECTOR_COLOUR, "s", "-")):
        for x, p, ring in items:
            colour = colours.get(x.kind, "#555555")
            ax.scatter([p[0]], [p[1]], marker=marker, color=colour, s=28, zorder=7,
                       edgecolors="white", linewidths=0.5)
            if ring is None:
                continue
            r_m, what = ring
            # IFF / RF rings cover the whole picture and say little on the zoom; skip there
            if zoom and x.kind in ("iff", "rf") and r_m / 1000.0 > SITE_HALF_WIDTH_KM:
                continue
            ax.add_patch(Circle(p, r_m / 1000.0, fill=False, ec=colour, lw=0.9, ls=ls,
                                alpha=0.8, zorder=4))
            label = f"{x.kind} ring: {what}"
            if label not in seen:
                seen.add(label)
                handles.append(Line2D([], [], color=colour, lw=0.9, ls=ls, marker=marker,
                                      label=label))
    if zoom:
        for text, p in d.labels:
            ax.annotate(text, p, xytext=(-5, 3), textcoords="offset points", ha="right",
                        fontsize=7, color="#1b2631", zorder=11,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
    for name, p in d.divert:
        ax.scatter([p[0]], [p[1]], marker="D", color="#8e44ad", s=30, zorder=8)
        if zoom:
            ax.annotate(f"{name} divert point", p, xytext=(5, -9), textcoords="offset points",
                        fontsize=7, color="#8e44ad", zorder=9)
    if d.divert:
        handles.append(Line2D([], [], marker="D", color="#8e44ad", ls="",
                              label="spoofer divert point"))
    for key, pts in d.points.items():
        style = dict(_EVENT_STYLE[key])
        label = style.pop("label")
        ax.scatter(pts[:, 0], pts[:, 1], zorder=10, **style)
        handles.append(ax.scatter([], [], **style, label=label))
    return handles


def map_overview_png(mc: MonteCarloResult) -> bytes:
    d = _MapData(mc)
    x0, x1, y0, y1 = d.extent()
    # size the figure to the raid's aspect so equal-aspect axes do not leave a blank band
    ax_w = 7.0
    ax_h = float(np.clip(ax_w * (y1 - y0) / max(x1 - x0, 1e-6), 4.5, 9.0))
    fig = Figure(figsize=(11.5, ax_h + 0.9))
    ax = fig.add_axes((0.07, 0.6 / (ax_h + 0.9), ax_w / 11.5, ax_h / (ax_h + 0.9)))
    handles = _draw_map(ax, d, zoom=False)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(f"Whole raid — replication {mc.representative.replication}", fontsize=11)
    fig.legend(handles=handles, loc="center left",
               bbox_to_anchor=(0.09 + ax_w / 11.5, 0.5), fontsize=8, frameon=False)
    return _png(fig)


def map_sites_png(mc: MonteCarloResult) -> bytes:
    d = _MapData(mc)
    n = len(d.sites)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(6.2 * cols, 6.2 * rows))
    h = SITE_HALF_WIDTH_KM
    for i, s in enumerate(d.sites):
        ax = fig.add_subplot(rows, cols, i + 1)
        _draw_map(ax, d, zoom=True)
        cx, cy = s["centre"]
        ax.set_xlim(cx - h, cx + h)
        ax.set_ylim(cy - h, cy + h)
        ax.set_title(f"Site {s['name']} (±{h:g} km)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


# ----------------------------------------------------------------------------- distributions

HIST_OUTCOMES = ("shot_down", "forced_down", "reached_target_area", "drone_hits", "assets_hit",
                 "shots", "cost_usd")


def histograms_png(mc: MonteCarloResult, reference: dict[str, float]) -> bytes:
    names = [n for n in HIST_OUTCOMES if n in mc.outcomes.column_names]
    cols = 3
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(11.5, 3.1 * rows))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        v = mc.column(name)
        v = v[np.isfinite(v)]
        scale, unit = (1e6, " (US$ M)") if name == "cost_usd" else (1.0, "")
        v = v / scale
        if v.size:
            if name == "cost_usd":
                bins: Any = np.histogram_bin_edges(v, bins=min(20, max(5, v.size // 3)))
                if bins[0] == bins[-1]:
                    bins = np.array([v[0] - 0.5, v[0] + 0.5])
            else:
                # counts: one bar per integer so "2 leaked" is read off directly
                lo, hi = math.floor(v.min()), math.ceil(v.max())
                bins = np.arange(lo - 0.5, hi + 1.5, 1.0)
            ax.hist(v, bins=bins, color="#5d6d7e", edgecolor="white")
            if name != "cost_usd" and hi - lo <= 12:
                # few distinct counts: label every integer, and give a lone bar some room
                ax.set_xticks(np.arange(lo, hi + 1))
                ax.set_xlim(lo - 1.5, hi + 1.5)
            ax.axvline(v.mean(), color="#c0392b", lw=1.5, label=f"mean {v.mean():.3g}")
        if name in reference:
            ax.axvline(reference[name] / scale, color="#1e8449", lw=1.5, ls="--",
                       label=f"reported {reference[name]:g}")
        if name != "cost_usd" and not (v.size and hi - lo <= 12):
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(name + unit, fontsize=10)
        ax.set_ylabel("replications")
        ax.legend(fontsize=7, frameon=True, framealpha=0.85, loc="best")
    fig.tight_layout()
    return _png(fig)


# ----------------------------------------------------------------------------- timelines

_TL_MARK: dict[str, dict[str, Any]] = {
    "launched": dict(marker="o", color="#7f8c8d", label="launched"),
    "detected": dict(marker="^", color="#5dade2", label="first detected"),
    "confirmed": dict(marker="s", color="#2471a3", label="track confirmed", ms=9),
    "identified": dict(marker="D", color="#7d3c98", label="identified hostile", ms=5),
    "approved": dict(marker="|", color="#1e8449", label="engagement approved", ms=12),
    "fired": dict(marker=">", color="#b03a2e", label="fired on"),
    "ew": dict(marker="o", mfc="none", color="#8e44ad", label="GNSS denied / spoofed"),
    "killed": dict(marker="X", color="black", label="shot down", ms=9),
    "landed": dict(marker="v", color="#1e8449", label="forced down: landed", ms=9),
    "crashed": dict(marker="v", color="#e67e22", label="forced down: crashed", ms=9),
    "leaked": dict(marker="*", color="#e74c3c", label="reached target area", ms=12),
    "returned": dict(marker="<", color="#7f8c8d", label="returned home", ms=9),
}
_END_KINDS = ("killed", "forced_down", "leaked", "returned", "out_of_fuel")


def drone_timelines(mc: MonteCarloResult) -> dict[int, dict[str, list[float]]]:
    """Per hostile drone of the representative run: marker key → times (s)."""
    ev = mc.representative.events.to_pydict()
    kinds, drones, engs, ts = ev["kind"], ev["drone"], ev["engagement"], ev["t_s"]
    details = ev["detail"]
    # Approvals carry only the engagement id; the fired/hit/missed rows of the same
    # engagement name the drone, so link through them.
    eng_drone = {e: d for k, d, e in zip(kinds, drones, engs, strict=True)
                 if d >= 0 and e >= 0 and k in ("fired", "missed", "hit", "killed")}
    out: dict[int, dict[str, list[float]]] = {}
    for k, d, e, t, det in zip(kinds, drones, engs, ts, details, strict=True):
        if k == "approved":
            d = eng_drone.get(e, -1)
        if d < 0:
            continue
        if k in ("launched", "detected", "confirmed", "identified", "approved", "fired",
                 "killed", "leaked", "returned"):
            key = k
        elif k in ("gnss_denied", "spoofed"):
            key = "ew"
        elif k == "forced_down":
            key = "crashed" if det == "crashed" else "landed"
        elif k == "out_of_fuel":
            key = "returned"
        else:
            continue
        out.setdefault(int(d), {}).setdefault(key, []).append(float(t))
    return out


def drone_labels(sc: Scenario) -> list[str]:
    # Drones are numbered raid by raid in scenario order (world.build repeats raid indices).
    return [f"D{i} · {r.name}" for i, r in enumerate(r for r in sc.raids for _ in range(r.count))]


def timeline_png(mc: MonteCarloResult) -> tuple[bytes, int, int] | None:
    """PNG of per-drone kill chains; returns (png, drones shown, drones total)."""
    tl = drone_timelines(mc)
    if not tl:
        return None
    labels = drone_labels(mc.scenario)
    drones = sorted(tl, key=lambda d: min(t for v in tl[d].values() for t in v))
    total = len(drones)
    drones = drones[:MAX_TIMELINE_DRONES]
    n = len(drones)
    height = max(3.6, 1.1 + 0.34 * n)  # the legend needs ~3.5 in whatever n is
    fig = Figure(figsize=(11.5, height))
    # fixed margins in inches (x-axis label below, a little air above) at any drone count
    ax = fig.add_axes((0.16, 0.6 / height, 0.62, 1 - 0.8 / height))
    t_end = mc.representative.t_end_s / 60.0
    for y, d in enumerate(drones):
        m = tl[d]
        t0 = min(t for v in m.values() for t in v) / 60.0
        ends = [t for key in ("killed", "landed", "crashed", "leaked", "returned")
                for t in m.get(key, [])]
        t1 = min(ends) / 60.0 if ends else t_end
        ax.plot([t0, t1], [y, y], color="#bbbbbb", lw=2, zorder=1,
                ls="-" if ends else ":")
        for key, style in _TL_MARK.items():
            ts = m.get(key)
            if ts:
                st = {k: v for k, v in style.items() if k != "label"}
                st.setdefault("ms", 7)
                ax.plot(np.asarray(ts) / 60.0, [y] * len(ts), ls="", zorder=3, **st)
    ax.set_yticks(range(n))
    ax.set_yticklabels([labels[d] if d < len(labels) else f"D{d}" for d in drones],
                       fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("time since scenario start (min)")
    ax.grid(True, axis="x", color="#dddddd", lw=0.5)
    handles = [Line2D([], [], ls="", **{k: v for k, v in s.items() if k != "label"},
                      label=s["label"]) for s in _TL_MARK.values()]
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.79, 0.5), fontsize=8,
               frameon=False, numpoints=1)
    return _png(fig), n, total


# ----------------------------------------------------------------------------- effectors


def effector_png(names: Sequence[str], shots: Sequence[tuple[float, float]],
                 cost: Sequence[tuple[float, float]], magazine: Sequence[float | None]
                 ) -> bytes:
    """Horizontal bars of mean shots and mean cost per effector, with ±1 s.e. whiskers."""
    n = len(names)
    fig = Figure(figsize=(11.5, 1.2 + 0.38 * n))
    y = np.arange(n)
    for i, (vals, title, scale) in enumerate(((shots, "shots per replication", 1.0),
                                               (cost, "cost per replication (US$ k)", 1e3))):
        ax = fig.add_subplot(1, 2, i + 1)
        m = np.array([v[0] for v in vals]) / scale
        se = np.nan_to_num(np.array([v[1] for v in vals]) / scale)
        ax.barh(y, m, xerr=se, color="#5d6d7e", ecolor="#222222", capsize=3)
        if i == 0:
            mags = [(j, g) for j, g in enumerate(magazine) if g is not None]
            if mags:
                ax.scatter([g for _, g in mags], [j for j, _ in mags], marker="|", s=200,
                           color="#c0392b", zorder=5)
                title = "shots per replication (red tick: magazine)"
            ax.set_yticks(y)
            ax.set_yticklabels(names, fontsize=8)
        else:
            ax.set_yticks(y)
            ax.set_yticklabels([])
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_title(title, fontsize=10)
        ax.grid(True, axis="x", color="#dddddd", lw=0.5)
    fig.tight_layout()
    return _png(fig)
