"""Coverage maps: where each site's sensors see a drone, where its weapons reach it, where its
jammers deny it, and where its radars are blind — at one altitude and RCS.

Per site, a square grid of cells (local ENU metres about the scenario origin) is evaluated
with the simulator's own model functions for a target at the chosen altitude:

- **Radar**: single-look (one scan) Swerling-1 Pd (:func:`~bastion.sim.sensors.radar.radar_look`,
  the scan's model as array code: SNR ∝ RCS/R⁴ calibrated by reference RCS, ``range_pd90_m``
  and ``pfa``; max range, 4/3-earth horizon, elevation coverage, per-azimuth masks) for a
  target whose radial speed clears the MTI notch (a drone flying at the site does).
- **Passive RF**: ``pd`` within range, only if the drone emits.
- **EO/IR**: ``pd`` within the day or night range — *when cued*: the turret looks only where a
  track already is, so it is mapped but left out of the combined map (it adds no search).
- **Combined**: P(at least one searching sensor detects in one look) = 1 − Π(1 − Pd_i) over
  the site's radars and RF sensors, **treating them as independent** (they draw independent
  random numbers in the simulator; common causes — a low, slow, stealthy drone — are in the
  per-sensor Pd through altitude and RCS, not in correlated draws).
- **Engagement envelopes** of guns and missiles: slant range in [min, max] and altitude ≤
  ``max_altitude_m`` (the feasibility test of ``respond/kinetic.py`` without the track-quality
  and time-of-flight terms, which depend on a track, not on a place).
- **Jamming / spoofing footprints**: J/S from the link budget of ``respond/jamming.py`` at the
  drone's receiver above its median threshold (spoofers: above the capture margin), only
  for the receivers a jammer's bands cover: a GNSS airframe whose navigation frequency lies
  in a band, an RF-linked one (jam mode) whose control-link frequency does. A link's J/S
  sets the jammer against the pilot's uplink from the raid's launch point, so its footprint
  is not a circle; its radius is where the J/S crosses the threshold on the way in from the
  launch point, d = R·k/(1 + k), k = 10^((EIRP_j − EIRP_c − thr)/20), R the launch distance.
- **Blind sectors**: cells inside a radar's max range where it cannot see the target at this
  altitude because of the radar horizon (earth curvature and antenna height) or a mask.

Defaults are the hardest case of the scenario's raids: the lowest cruise altitude and the
smallest RCS among the raids' airframes, RF detection only if every raid airframe emits, and
for each jammer the receiver (GNSS or control link) it denies over the smallest distance.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import contourpy
import numpy as np
from numpy.typing import NDArray

from bastion._version import __version__
from bastion.respond.jamming import js_db, link_js_db
from bastion.respond.jamming import radius_m as jam_radius_m
from bastion.scenario.geo import Frame, radar_horizon_m
from bastion.scenario.schema import (
    EOIR,
    Airframe,
    Jammer,
    LatLon,
    PassiveRF,
    Radar,
    Scenario,
)
from bastion.scenario.terrain import Profile, TerrainModel
from bastion.sim.sensors.eoir import eoir_range_m
from bastion.sim.sensors.point import in_range_pd
from bastion.sim.sensors.radar import radar_look, radar_reach_m

__all__ = [
    "MODEL_NOTE",
    "Coverage",
    "Envelope",
    "Footprint",
    "SensorMap",
    "SiteCoverage",
    "Target",
    "coverage_maps",
    "design_target",
]

GRID_CELLS = 200  # default cells per side of a site's grid
MAX_CELLS = 4_000_000  # per site: a 2,000 × 2,000 grid of several layers is ~0.5 GB
PD_LEVELS = (0.5, 0.9)  # combined-Pd contours exported to GeoJSON
MODEL_NOTE = ("bastion model output (single-look detection probability, sensors independent; "
              "flat terrain, 4/3-earth radar horizon), not a measurement")
_MAX_JAM_REACH_M = 100_000.0  # a jammer's footprint never sets a grid wider than this
_CIRCLE_VERTICES = 128


@dataclass(frozen=True)
class Target:
    """The drone the maps are drawn for."""

    altitude_m: float
    rcs_m2: float
    emits_rf: bool  # passive RF hears it
    airframes: tuple[str, ...]  # the raid airframes it stands for
    receivers: tuple[tuple[str, Airframe], ...]  # the GNSS airframes among them
    why: str  # how altitude and RCS were chosen
    # the RF-linked raids: airframe name, airframe, ENU xy of the pilot (launch point)
    links: tuple[tuple[str, Airframe, tuple[float, float]], ...] = ()


@dataclass(frozen=True)
class SensorMap:
    name: str
    kind: str
    xy_m: tuple[float, float]
    pd: NDArray[np.float64]  # (ny, nx) single-look detection probability
    in_combined: bool
    note: str = ""
    range_m: float = math.nan  # max range (radar) or detection range (RF, EO/IR)
    blind_horizon: NDArray[np.bool_] | None = None  # radar: in range, below the horizon
    blind_mask: NDArray[np.bool_] | None = None  # radar: in range, below a masked sector


@dataclass(frozen=True)
class Envelope:
    """A gun's or missile's engagement envelope at the map altitude."""

    name: str
    kind: str
    xy_m: tuple[float, float]
    height_m: float
    min_range_m: float
    max_range_m: float
    max_altitude_m: float
    inside: NDArray[np.bool_]  # (ny, nx)
    inner_m: float  # ground radii of the annulus at the map altitude (0: none)
    outer_m: float  # 0: the altitude is out of reach (above the ceiling or range)


@dataclass(frozen=True)
class Footprint:
    """Where a jammer (or spoofer) denies (captures) the target's GNSS at the map altitude."""

    name: str
    mode: str
    xy_m: tuple[float, float]
    height_m: float
    inside: NDArray[np.bool_]  # (ny, nx)
    ground_radius_m: float  # 0: no footprint at this altitude (or no GNSS receiver to deny)
    receiver: str  # the airframe whose receiver it is drawn for ("" when none)
    threshold_db: float  # J/S threshold (jam) or capture margin (spoof)
    note: str = ""


@dataclass(frozen=True)
class SiteCoverage:
    name: str
    x_m: NDArray[np.float64]  # (nx,) cell centres, east of origin
    y_m: NDArray[np.float64]  # (ny,) cell centres, north of origin
    sensors: tuple[SensorMap, ...]
    combined_pd: NDArray[np.float64]  # (ny, nx)
    blind: NDArray[np.bool_]  # (ny, nx) in some radar's range, seen by none (horizon, mask)
    envelopes: tuple[Envelope, ...]
    footprints: tuple[Footprint, ...]
    assets: tuple[tuple[str, tuple[float, float], float], ...]  # name, ENU xy, radius
    no_fire_zones: tuple[tuple[str, NDArray[np.float64]], ...]  # name, (k, 2) ENU
    fence: NDArray[np.float64] | None
    not_mapped: tuple[tuple[str, str], ...]  # (sensor, why) sensors without a map

    @property
    def resolution_m(self) -> float:
        return float(self.x_m[1] - self.x_m[0]) if self.x_m.size > 1 else math.nan

    @property
    def combined_names(self) -> list[str]:
        return [s.name for s in self.sensors if s.in_combined]


@dataclass(frozen=True)
class Coverage:
    scenario: str
    origin: LatLon
    target: Target
    night: bool
    sites: tuple[SiteCoverage, ...]

    @property
    def altitude_m(self) -> float:
        return self.target.altitude_m

    @property
    def rcs_m2(self) -> float:
        return self.target.rcs_m2

    def site(self, name: str) -> SiteCoverage:
        return next(s for s in self.sites if s.name == name)

    def to_geojson(self) -> dict[str, Any]:
        """A GeoJSON FeatureCollection (RFC 7946, WGS84 lon/lat): per site, the combined-Pd
        ≥ 0.5 and ≥ 0.9 regions, each radar's blind sectors, each weapon's envelope and each
        jammer's footprint at this altitude and RCS."""
        frame = Frame(self.origin)
        common = {"altitude_m": self.altitude_m, "rcs_m2": self.rcs_m2, "model": MODEL_NOTE}
        feats: list[dict[str, Any]] = []

        def add(geom: dict[str, Any] | None, **props: Any) -> None:
            if geom is not None:
                feats.append({"type": "Feature", "geometry": geom,
                              "properties": {**props, **common}})

        for s in self.sites:
            for level in PD_LEVELS:
                add(_multipolygon(frame, _filled(s.x_m, s.y_m, s.combined_pd, level)),
                    site=s.name, layer="detection", pd_at_least=level,
                    sensors=s.combined_names,
                    description=f"combined single-look Pd ≥ {level:g} "
                                f"({', '.join(s.combined_names) or 'no searching sensor'})")
            for m in s.sensors:
                for reason, grid in (("horizon", m.blind_horizon), ("mask", m.blind_mask)):
                    if grid is not None and grid.any():
                        add(_multipolygon(frame, _filled(s.x_m, s.y_m, grid.astype(float),
                                                         0.5)),
                            site=s.name, layer="blind_sector", sensor=m.name, reason=reason,
                            description=f"{m.name}: blind ({reason}) inside its max range")
            for e in s.envelopes:
                if e.outer_m > 0:
                    rings = [_circle(e.xy_m, e.outer_m)]
                    if e.inner_m > 0:
                        rings.append(_circle(e.xy_m, e.inner_m))
                    add(_multipolygon(frame, [rings]), site=s.name,
                        layer="engagement_envelope", effector=e.name, kind=e.kind,
                        min_range_m=e.min_range_m, max_range_m=e.max_range_m,
                        max_altitude_m=e.max_altitude_m,
                        description=f"{e.name} ({e.kind}) engagement envelope")
            for j in s.footprints:
                if j.ground_radius_m > 0:
                    what = ("spoof capture" if j.mode == "spoof" else "link denial"
                            if j.receiver.endswith("control link") else "GNSS denial")
                    add(_multipolygon(frame, [[_circle(j.xy_m, j.ground_radius_m)]]),
                        site=s.name, layer=f"{j.mode}_footprint", effector=j.name,
                        mode=j.mode, receiver_airframe=j.receiver,
                        threshold_db=j.threshold_db,
                        description=f"{j.name}: {what} of a {j.receiver} receiver")
        return {"type": "FeatureCollection", "features": feats,
                "bastion": {"scenario": self.scenario, "bastion_version": __version__,
                            "target": self.target.why, **common}}


# ----------------------------------------------------------------------------- the target


def design_target(sc: Scenario, altitude_m: float | None = None,
                  rcs_m2: float | None = None) -> Target:
    """The drone the maps are drawn for: by default the hardest case of the raids — lowest
    altitude, smallest RCS, RF-silent unless every raid airframe emits."""
    names = list(dict.fromkeys(r.airframe for r in sc.raids))
    afs = [sc.airframes[n] for n in names]
    if not afs:  # no raid: the schema's default airframe
        names, afs = ["default airframe"], [Airframe()]
    alt = min(a.altitude_m for a in afs) if altitude_m is None else float(altitude_m)
    rcs = min(a.rcs_m2 for a in afs) if rcs_m2 is None else float(rcs_m2)
    if not (math.isfinite(alt) and 0.0 < alt <= 30_000.0):
        raise ValueError(f"altitude_m {alt!r}: must be above ground and at most 30,000 m")
    if not (math.isfinite(rcs) and 1e-6 <= rcs <= 1e5):
        raise ValueError(f"rcs_m2 {rcs!r}: must be between 1e-6 and 1e5 m²")
    why = ("altitude " + (f"{alt:g} m (given)" if altitude_m is not None else
                          f"{alt:g} m (lowest of the raids' airframes)")
           + ", RCS " + (f"{rcs:g} m² (given)" if rcs_m2 is not None else
                         f"{rcs:g} m² (smallest of the raids' airframes)"))
    frame = Frame(sc.origin)
    links = tuple((r.airframe, sc.airframes[r.airframe],
                   tuple(float(v) for v in frame.point(r.launch)[:2]))
                  for r in sc.raids if sc.airframes[r.airframe].navigation == "rf_link")
    return Target(alt, rcs, all(a.emits_rf for a in afs), tuple(names),
                  tuple((n, a) for n, a in zip(names, afs, strict=True)
                        if a.navigation == "gnss"), why, links)


# ----------------------------------------------------------------------------- the maps


def coverage_maps(scenario: Scenario, *, altitude_m: float | None = None,
                  rcs_m2: float | None = None, resolution_m: float | None = None,
                  extent_m: float | None = None) -> Coverage:
    """Coverage maps of every site of ``scenario`` for a drone at ``altitude_m`` with RCS
    ``rcs_m2`` (defaults: the lowest altitude and smallest RCS of the raids' airframes, the
    hardest case). Each site gets a square grid about its assets' centre, ``extent_m`` metres
    either side (default: far enough for every sensor's and weapon's reach), with cells
    ``resolution_m`` apart (default: about 200 × 200 cells)."""
    sc = scenario
    target = design_target(sc, altitude_m, rcs_m2)
    if resolution_m is not None and not (math.isfinite(resolution_m) and resolution_m > 0):
        raise ValueError(f"resolution_m {resolution_m!r}: must be a positive number of metres")
    if extent_m is not None and not (math.isfinite(extent_m) and extent_m > 0):
        raise ValueError(f"extent_m {extent_m!r}: must be a positive number of metres")
    frame = Frame(sc.origin)
    sites = tuple(_site(sc, site.name, frame, target, resolution_m, extent_m)
                  for site in sc.sites)
    return Coverage(sc.name, LatLon(lat_deg=sc.origin.lat_deg, lon_deg=sc.origin.lon_deg),
                    target, sc.night, sites)


def _terrain_profile(sc: Scenario, frame: Frame, pos: NDArray[np.float64],
                     range_m: float) -> Profile | None:
    """The sensor's terrain profile when the scenario has terrain (None: flat ground)."""
    if not any(s.terrain is not None for s in sc.sites):
        return None
    tm = TerrainModel(sc, frame)
    return tm.profile(pos, range_m) if tm.present else None


def _reach_m(sc: Scenario, item: Any, pos: NDArray[np.float64], t: Target) -> float:
    """How far from ``item`` its map layer can reach at the target altitude (grid extent)."""
    if isinstance(item, Radar):
        horizon = float(radar_horizon_m(pos[2], t.altitude_m))
        return min(radar_reach_m(item, t.rcs_m2, 0.01), horizon)
    if isinstance(item, PassiveRF):
        return item.range_m
    if isinstance(item, EOIR):
        return eoir_range_m(item, sc.night)
    if isinstance(item, Jammer):
        radii = [r for _, r in _denials(item, (float(pos[0]), float(pos[1])), t)]
        return min(_MAX_JAM_REACH_M, max(radii)) if radii else 0.0
    if item.kind in ("gun", "missile"):
        return item.max_range_m
    return 0.0  # IFF, perimeter: not mapped


def _jam_threshold(jam: Jammer, af: Airframe) -> float:
    return jam.spoof_capture_margin_db if jam.mode == "spoof" else af.js_threshold_db


def _jam_radius(jam: Jammer, af: Airframe) -> float:
    return jam_radius_m(jam.eirp_dbw, af.gnss_frequency_mhz, af.antenna_gain_to_jammer_dbi,
                        af.gnss_signal_dbw, _jam_threshold(jam, af))


def _covered(jam: Jammer, f_mhz: float) -> bool:
    return any(b.covers(f_mhz) for b in jam.radiated_bands())


def _link_k(jam: Jammer, af: Airframe) -> float:
    """d_jammer / d_pilot at which a link's J/S equals its threshold (free space, one f)."""
    return float(10 ** ((jam.eirp_dbw - af.control_eirp_dbw - af.link_js_threshold_db) / 20))


def _denials(jam: Jammer, xy: tuple[float, float], t: Target
             ) -> list[tuple[tuple[str, str, Airframe, tuple[float, float] | None], float]]:
    """The receivers this jammer's bands cover, each with its denial (slant) radius:
    ((kind, airframe name, airframe, pilot xy or None), radius)."""
    out: list[tuple[tuple[str, str, Airframe, tuple[float, float] | None], float]] = []
    for name, af in t.receivers:
        if _covered(jam, af.gnss_frequency_mhz):
            out.append((("gnss", name, af, None), _jam_radius(jam, af)))
    if jam.mode == "jam":  # a spoofer imitates GNSS only
        for name, af, pilot in t.links:
            if _covered(jam, af.control_link_mhz):
                k = _link_k(jam, af)
                r_launch = math.hypot(pilot[0] - xy[0], pilot[1] - xy[1])
                out.append((("link", name, af, pilot), r_launch * k / (1.0 + k)))
    return out


def _ground_radius(slant_m: float, dz_m: float) -> float:
    return math.sqrt(slant_m**2 - dz_m**2) if slant_m > abs(dz_m) else 0.0


def _site(sc: Scenario, name: str, frame: Frame, t: Target, resolution_m: float | None,
          extent_m: float | None) -> SiteCoverage:
    site = sc.site(name)
    sensors = [(s, frame.point(s.position)) for s in sc.sensors if s.site == name]
    effectors = [(e, frame.point(e.position)) for e in sc.effectors if e.site == name]
    assets = tuple((a.name, tuple(float(v) for v in frame.point(a.position)[:2]), a.radius_m)
                   for a in site.assets)
    centre = np.mean([xy for _, xy, _ in assets], axis=0)
    if extent_m is None:
        reach = [(float(np.hypot(*(p[:2] - centre))), _reach_m(sc, x, p, t))
                 for x, p in sensors + effectors]
        half = 1.05 * max([2_000.0] + [d + r for d, r in reach if r > 0])
    else:
        half = float(extent_m)
    res = resolution_m if resolution_m is not None else 2 * half / (GRID_CELLS - 1)
    n = math.floor(2 * half / res + 1e-9) + 1
    if n * n > MAX_CELLS:
        raise ValueError(f"site {name}: {n:,} × {n:,} cells at {res:g} m over ±{half:,.0f} m "
                         f"(at most {MAX_CELLS:,}); coarsen resolution_m or shrink extent_m")
    off = (np.arange(n) - (n - 1) / 2) * res
    x, y = centre[0] + off, centre[1] + off
    gx, gy = np.meshgrid(x, y)  # (ny, nx)
    cells = np.stack([gx, gy, np.full_like(gx, t.altitude_m)], axis=-1)

    maps: list[SensorMap] = []
    in_any = np.zeros(gx.shape, bool)
    clear_any = np.zeros(gx.shape, bool)
    not_mapped: list[tuple[str, str]] = []
    for s, p in sensors:
        xy = (float(p[0]), float(p[1]))
        if isinstance(s, Radar):
            look = radar_look(s, p, cells, t.rcs_m2, _terrain_profile(sc, frame, p,
                                                                      s.max_range_m))
            # blind for the site: in some radar's range, over every such radar's horizon or
            # under its mask (elevation coverage and MTI are not terrain)
            in_any |= look.in_range
            clear_any |= look.in_range & look.above_horizon & look.unmasked
            maps.append(SensorMap(s.name, s.kind, xy, look.pd, True, range_m=s.max_range_m,
                                  blind_horizon=look.in_range & ~look.above_horizon,
                                  blind_mask=look.in_range & ~look.unmasked))
        elif isinstance(s, PassiveRF):
            if t.emits_rf:
                maps.append(SensorMap(s.name, s.kind, xy, in_range_pd(p, cells, s.range_m, s.pd),
                                      True, range_m=s.range_m))
            else:
                maps.append(SensorMap(
                    s.name, s.kind, xy, np.zeros(gx.shape), True, range_m=s.range_m,
                    note="hears only drones with an active link: a raid airframe is silent"))
        elif isinstance(s, EOIR):
            r = eoir_range_m(s, sc.night)
            maps.append(SensorMap(
                s.name, s.kind, xy, in_range_pd(p, cells, r, s.pd), False, range_m=r,
                note=f"when cued on a track ({'IR, night' if sc.night else 'day'} range): "
                     "not a search sensor, so not in the combined map"))
        elif s.kind == "iff":
            not_mapped.append((s.name, "IFF replies come only from own aircraft"))
        else:
            not_mapped.append((s.name, "perimeter sensors detect people on the ground"))

    miss = np.ones(gx.shape)
    for m in maps:
        if m.in_combined:
            miss = miss * (1.0 - m.pd)  # independent sensors: P(all miss) = Π(1 − Pd_i)
    combined = 1.0 - miss

    envelopes: list[Envelope] = []
    footprints: list[Footprint] = []
    for e, p in effectors:
        xy = (float(p[0]), float(p[1]))
        rel = cells - p
        d = np.sqrt((rel[..., 0] * rel[..., 0] + rel[..., 1] * rel[..., 1])
                    + rel[..., 2] * rel[..., 2])
        dz = t.altitude_m - float(p[2])
        if isinstance(e, Jammer):
            footprints.append(_footprint(e, xy, float(p[2]), d, dz, t, cells))
            continue
        ok_alt = t.altitude_m <= e.max_altitude_m
        inside = (d >= e.min_range_m) & (d <= e.max_range_m) & ok_alt
        outer = _ground_radius(e.max_range_m, dz) if ok_alt else 0.0
        inner = _ground_radius(e.min_range_m, dz) if outer > 0 else 0.0
        envelopes.append(Envelope(e.name, e.kind, xy, float(p[2]), e.min_range_m,
                                  e.max_range_m, e.max_altitude_m, inside, inner, outer))

    return SiteCoverage(
        name, x, y, tuple(maps), combined, in_any & ~clear_any, tuple(envelopes),
        tuple(footprints), assets,
        tuple((z.name, frame.polygon(z.polygon)) for z in site.no_fire_zones),
        frame.polygon(site.fence) if site.fence else None, tuple(not_mapped))


def _footprint(jam: Jammer, xy: tuple[float, float], h: float, d: NDArray[np.float64],
               dz: float, t: Target, cells: NDArray[np.float64]) -> Footprint:
    denials = _denials(jam, xy, t)
    if not denials:
        bands = ", ".join(f"{b.low_mhz:g}-{b.high_mhz:g}" for b in jam.radiated_bands())
        what = ("no raid airframe navigates by GNSS" if not (t.receivers or t.links) else
                f"its bands ({bands} MHz) miss the raid's GNSS and control-link frequencies"
                if jam.mode == "jam" else
                f"its bands ({bands} MHz) miss the raid's GNSS frequencies")
        return Footprint(jam.name, jam.mode, xy, h, np.zeros(d.shape, bool), 0.0, "",
                         _jam_threshold(jam, Airframe()), note=f"{what}: nothing to deny")
    # the receiver this jammer denies over the shortest distance: the hardest case
    (kind, rx_name, af, pilot), radius = min(denials, key=lambda dr: dr[1])
    if kind == "link":
        assert pilot is not None
        thr = af.link_js_threshold_db
        d_c = np.hypot(cells[..., 0] - pilot[0], cells[..., 1] - pilot[1])
        js = link_js_db(jam.eirp_dbw, af.control_link_mhz, d,
                        np.full(d.shape, af.control_eirp_dbw), d_c)
        return Footprint(jam.name, jam.mode, xy, h, js > thr, _ground_radius(radius, dz),
                         f"{rx_name} control link", thr,
                         note="the link's J/S against the pilot's uplink from the launch "
                              "point: radius on the way in from there")
    thr = _jam_threshold(jam, af)
    js = js_db(jam.eirp_dbw, af.gnss_frequency_mhz, d,
               np.full(d.shape, af.antenna_gain_to_jammer_dbi),
               np.full(d.shape, af.gnss_signal_dbw))
    # the simulator's tests: jam where J/S > threshold, spoof where J/S ≥ capture margin
    inside = js >= thr if jam.mode == "spoof" else js > thr
    return Footprint(jam.name, jam.mode, xy, h, inside,
                     _ground_radius(radius, dz), rx_name, thr)


# ----------------------------------------------------------------------------- GeoJSON


def _filled(x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64],
            level: float) -> list[list[NDArray[np.float64]]]:
    """Polygons (outer ring, then holes; ENU metres, closed) of the region z ≥ level."""
    if not np.any(z >= level) or x.size < 2 or y.size < 2:
        return []
    gen = contourpy.contour_generator(x, y, z, fill_type=contourpy.FillType.OuterOffset)
    points, offsets = gen.filled(level, np.inf)
    return [[pts[a:b] for a, b in itertools.pairwise(off)]
            for pts, off in zip(points, offsets, strict=True)]


def _circle(xy: tuple[float, float], r: float) -> NDArray[np.float64]:
    a = np.linspace(0.0, 2 * np.pi, _CIRCLE_VERTICES + 1)
    ring = np.column_stack([xy[0] + r * np.sin(a), xy[1] + r * np.cos(a)])
    ring[-1] = ring[0]
    return ring


def _signed_area(ring: NDArray[np.float64]) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _multipolygon(frame: Frame, polys: list[list[NDArray[np.float64]]]
                  ) -> dict[str, Any] | None:
    """ENU polygons → a GeoJSON MultiPolygon in lon/lat, exterior rings anticlockwise and
    holes clockwise (RFC 7946 §3.1.6), every ring closed; None when there is nothing."""
    out = []
    for rings in polys:
        geo = []
        for k, ring in enumerate(rings):
            if ring.shape[0] < 4:
                continue
            lat, lon, _ = frame.to_geodetic(np.column_stack([ring, np.zeros(len(ring))]))
            ll = np.column_stack([lon, lat])
            ll[-1] = ll[0]
            if (_signed_area(ll) > 0) != (k == 0):
                ll = ll[::-1]
            geo.append(np.round(ll, 7).tolist())
        if geo:
            out.append(geo)
    return {"type": "MultiPolygon", "coordinates": out} if out else None
