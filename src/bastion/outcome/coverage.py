"""Coverage-map figures for report.html: per site, combined detection probability as filled
contours, with assets, no-fire zones, sensors and effectors, engagement envelopes and
jamming footprints as outlines, radar blind sectors hatched, and a small map per sensor.

The maps themselves are computed by the simulator's models (``bastion.sim.coverage``); this
module only draws the object it is given, so the report needs no import of the simulator.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, Polygon

from bastion.outcome.figures import _EFFECTOR_COLOUR, _SENSOR_COLOUR, _png

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.coverage import Coverage, SiteCoverage

__all__ = ["PD_BANDS", "coverage_pngs", "site_coverage_png"]

# filled bands of combined Pd; 0.5 and 0.9 are also drawn (and exported) as contour lines
PD_BANDS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0 + 1e-9)
_CMAP = "Blues"
_SMALL_PER_ROW = 4
_BLIND_HATCH = "xx"
_BLIND_COLOUR = "#4d5656"


def coverage_pngs(cov: Coverage) -> list[tuple[str, bytes]]:
    """(site name, PNG) per site."""
    return [(s.name, site_coverage_png(cov, s)) for s in cov.sites]


def _km(v: Any) -> Any:
    return np.asarray(v, float) / 1000.0


def site_coverage_png(cov: Coverage, site: SiteCoverage) -> bytes:
    """One figure: the combined map large, each mapped sensor's Pd small underneath."""
    small = list(site.sensors)
    rows_small = math.ceil(len(small) / _SMALL_PER_ROW)
    main_h, small_h = 7.0, 2.9
    height = main_h + 0.9 + rows_small * small_h
    fig = Figure(figsize=(11.5, height))
    # main panel: fixed inches so every site's map has the same scale box
    ax = fig.add_axes((0.07, (rows_small * small_h + 0.5) / height, 7.0 / 11.5,
                       main_h / height))
    x, y = _km(site.x_m), _km(site.y_m)
    cf = ax.contourf(x, y, site.combined_pd, levels=list(PD_BANDS), cmap=_CMAP, zorder=1)
    cs = ax.contour(x, y, site.combined_pd, levels=[0.5, 0.9], colors=["#1b4f72", "#0b2545"],
                    linewidths=[0.9, 1.3], zorder=2)
    if cs.allsegs and any(len(s) for s in cs.allsegs):
        ax.clabel(cs, fmt={0.5: "0.5", 0.9: "0.9"}, fontsize=7)
    def band(pd: float) -> Any:  # the fill colour contourf gave the band holding pd
        k = int(np.searchsorted(PD_BANDS, pd, side="right")) - 1
        return cf.cmap(cf.norm(cf.layers[k]))

    handles: list[Any] = [Patch(fc=band(0.95), ec="none", label="combined Pd ≥ 0.9"),
                          Patch(fc=band(0.6), ec="none", label="combined Pd 0.5–0.9")]
    handles += _draw_layers(ax, site)
    if site.blind.any():
        _hatch(ax, x, y, site.blind, zorder=3)
        handles.append(Patch(fc="none", ec=_BLIND_COLOUR, hatch=_BLIND_HATCH,
                             label="radar blind sector (horizon / mask)"))
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_aspect("equal")
    ax.set_xlabel("east of origin (km)")
    ax.set_ylabel("north of origin (km)")
    names = ", ".join(site.combined_names) or "no searching sensor"
    ax.set_title(f"Site {site.name}: combined single-look Pd ({names})\n"
                 f"drone at {cov.altitude_m:g} m, RCS {cov.rcs_m2:g} m²", fontsize=10)
    cax = fig.add_axes((0.07 + 7.0 / 11.5 + 0.01, (rows_small * small_h + 0.5) / height,
                        0.015, main_h / height))
    fig.colorbar(cf, cax=cax, label="P(detected in one look)")
    fig.legend(handles=handles, loc="upper left", fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.07 + 7.0 / 11.5 + 0.075, (rows_small * small_h + 0.5
                                                              + main_h) / height))
    for i, m in enumerate(small):
        r, c = divmod(i, _SMALL_PER_ROW)
        w = 11.5 / _SMALL_PER_ROW
        sax = fig.add_axes(((c * w + 0.45) / 11.5, (small_h * (rows_small - 1 - r) + 0.35)
                            / height, (w - 0.75) / 11.5, (small_h - 0.75) / height))
        sax.pcolormesh(x, y, m.pd, cmap=_CMAP, vmin=0.0, vmax=1.0, shading="nearest",
                       rasterized=True)
        if m.blind_horizon is not None and m.blind_mask is not None:
            blind = m.blind_horizon | m.blind_mask
            if blind.any():
                _hatch(sax, x, y, blind)
        sax.scatter([m.xy_m[0] / 1000.0], [m.xy_m[1] / 1000.0], marker="^", s=20,
                    color=_SENSOR_COLOUR.get(m.kind, "#555555"), edgecolors="white",
                    linewidths=0.5)
        sax.set_aspect("equal")
        sax.set_xlim(x[0], x[-1])
        sax.set_ylim(y[0], y[-1])
        sax.tick_params(labelsize=6)
        tag = "" if m.in_combined else " — cued only"
        sax.set_title(f"{m.name} ({m.kind}){tag}", fontsize=8)
        if m.note and not m.pd.any():
            sax.text(0.5, 0.5, textwrap.fill("Pd 0 everywhere: " + m.note, 34),
                     transform=sax.transAxes, ha="center", va="center", fontsize=6.5,
                     bbox=dict(fc="white", ec="#aaaaaa", alpha=0.85))
    return _png(fig)


def _hatch(ax: Any, x: Any, y: Any, mask: Any, zorder: float = 3) -> None:
    """Hatch the cells where ``mask`` is set (grey, thin: the map under it stays legible)."""
    with mpl.rc_context({"hatch.color": _BLIND_COLOUR, "hatch.linewidth": 0.6}):
        ax.contourf(x, y, mask.astype(float), levels=[0.5, 1.5], colors="none",
                    hatches=[_BLIND_HATCH], zorder=zorder)


def _draw_layers(ax: Any, site: SiteCoverage) -> list[Any]:
    """Site layout, envelopes and footprints on ``ax``; legend handles for what is drawn."""
    handles: list[Any] = []
    if site.fence is not None:
        ax.add_patch(Polygon(_km(site.fence), closed=True, fill=False, ec="#34495e", lw=0.9,
                             zorder=5))
        handles.append(Line2D([], [], color="#34495e", lw=0.9, label="fence"))
    for _, poly in site.no_fire_zones:
        ax.add_patch(Polygon(_km(poly), closed=True, fc=(0.91, 0.30, 0.24, 0.15), ec="#c0392b",
                             hatch="///", lw=0.8, zorder=5))
    if site.no_fire_zones:
        handles.append(Patch(fc=(0.91, 0.30, 0.24, 0.15), hatch="///", ec="#c0392b",
                             label="no-fire zone"))
    for _, xy, r in site.assets:
        ax.add_patch(Circle(_km(xy), max(r / 1000.0, 0.08), fc="#f4d03f", ec="#7d6608",
                            lw=0.8, zorder=6))
    handles.append(Line2D([], [], marker="o", color="#f4d03f", mec="#7d6608", ls="",
                          label="asset"))
    seen: set[str] = set()
    for e in site.envelopes:
        colour = _EFFECTOR_COLOUR.get(e.kind, "#555555")
        ax.scatter([e.xy_m[0] / 1000.0], [e.xy_m[1] / 1000.0], marker="s", s=26,
                   color=colour, edgecolors="white", linewidths=0.5, zorder=7)
        if e.outer_m > 0:
            ax.add_patch(Circle(_km(e.xy_m), e.outer_m / 1000.0, fill=False, ec=colour, lw=1.1,
                                zorder=4))
            if e.inner_m > 0:
                ax.add_patch(Circle(_km(e.xy_m), e.inner_m / 1000.0, fill=False, ec=colour,
                                    lw=0.8, ls=":", zorder=4))
            label = f"{e.kind} envelope (min range dotted)"
        else:
            label = f"{e.kind}: target out of reach at this altitude"
        if label not in seen:
            seen.add(label)
            handles.append(Line2D([], [], color=colour, lw=1.1, marker="s",
                                  ls="-" if e.outer_m > 0 else "", label=label))
    for j in site.footprints:
        colour = _EFFECTOR_COLOUR["jammer"]
        ax.scatter([j.xy_m[0] / 1000.0], [j.xy_m[1] / 1000.0], marker="s", s=26, color=colour,
                   edgecolors="white", linewidths=0.5, zorder=7)
        if j.ground_radius_m > 0:
            ax.add_patch(Circle(_km(j.xy_m), j.ground_radius_m / 1000.0, fill=False, ec=colour,
                                lw=1.2, ls="--", zorder=4))
        link = j.receiver.endswith("control link")
        what = "spoof capture" if j.mode == "spoof" else "link denial" if link else "GNSS denial"
        label = (f"{what} footprint ({j.receiver}{'' if link else ' receiver'})"
                 if j.ground_radius_m > 0
                 else f"{j.mode}: no footprint ({j.note or 'out of reach'})")
        if label not in seen:
            seen.add(label)
            handles.append(Line2D([], [], color=colour, lw=1.2, ls="--", label=label))
    for m in site.sensors:
        colour = _SENSOR_COLOUR.get(m.kind, "#555555")
        ax.scatter([m.xy_m[0] / 1000.0], [m.xy_m[1] / 1000.0], marker="^", s=30, color=colour,
                   edgecolors="white", linewidths=0.5, zorder=8)
        label = f"{m.kind} sensor"
        if label not in seen:
            seen.add(label)
            handles.append(Line2D([], [], marker="^", color=colour, ls="", label=label))
    return handles

