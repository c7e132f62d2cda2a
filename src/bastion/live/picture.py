"""The JSON the UI reads (docs/live.md): the site's static geometry and the air picture.

Shared by the live driver and replay, so a recorded session shows exactly what the live
one showed. Inputs are arrays (one row per track); the JSON is built only when a picture is
asked for (a few times a second), never per tracker step.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.core.detections import CLASSES
from bastion.scenario.geo import Frame
from bastion.scenario.schema import EOIR, IFF, Gun, Jammer, Missile, PassiveRF, Radar, Scenario

__all__ = [
    "STATUS_NAMES",
    "engagement_json",
    "identity",
    "site_json",
    "threat_queue",
    "tracks_json",
    "trails",
    "utc_iso",
]

STATUS_NAMES = ("tentative", "confirmed", "coasting")
# ASSUMED: a track faster than this is a fixed-wing airframe (multirotors of the kind seen
# in these raids cruise at 10-20 m/s, the fixed-wing ones at 25-50 m/s; DESIGN.md "Drones")
FIXED_WING_ABOVE_MPS = 20.0
HISTORY_POINTS = 40  # at most this many points per trail (evenly thinned)
_IDENTITY = {"hostile_drone": "hostile", "bird": "neutral", "own_aircraft": "friend"}


def utc_iso(t_utc: float) -> str:
    return datetime.fromtimestamp(t_utc, UTC).isoformat().replace("+00:00", "Z")


def _reach_m(s: Any, night: bool) -> float:
    if isinstance(s, Radar):
        return float(s.max_range_m)
    if isinstance(s, EOIR):
        return float(s.range_night_m if night else s.range_day_m)
    if isinstance(s, PassiveRF | IFF):
        return float(s.range_m)
    return 0.0


def _effector_kind(e: Any) -> str:
    return "gun" if isinstance(e, Gun) else "missile" if isinstance(e, Missile) else (
        "jammer" if isinstance(e, Jammer) else str(getattr(e, "kind", "effector")))


def _effector_range_m(e: Any) -> float:
    if isinstance(e, Jammer):
        return float(e.activation_range_m)
    return float(getattr(e, "max_range_m", 0.0))


def site_json(sc: Scenario, frame: Frame) -> dict[str, Any]:
    """Static geometry: assets, no-fire zones, sensors, effectors (every site of the
    scenario: one live group)."""
    def ll(p: Any) -> tuple[float, float]:
        return float(p.lat_deg), float(p.lon_deg)

    assets = [{"name": a.name, "lat": ll(a.position)[0], "lon": ll(a.position)[1],
               "radius_m": float(a.radius_m), "value": float(a.value)}
              for s in sc.sites for a in s.assets]
    nfz = [{"name": z.name, "polygon": [list(ll(p)) for p in z.polygon]}
           for s in sc.sites for z in s.no_fire_zones]
    sensors = [{"name": s.name, "kind": s.kind, "lat": ll(s.position)[0],
                "lon": ll(s.position)[1], "range_m": _reach_m(s, sc.night)}
               for s in sc.sensors]
    effectors = [{"name": e.name, "kind": _effector_kind(e), "lat": ll(e.position)[0],
                  "lon": ll(e.position)[1], "range_m": _effector_range_m(e)}
                 for e in sc.effectors]
    return {"name": sc.name,
            "origin": {"lat": float(sc.origin.lat_deg), "lon": float(sc.origin.lon_deg),
                       "alt_m": 0.0},
            "assets": assets, "no_fire_zones": nfz, "sensors": sensors,
            "effectors": effectors}


def identity(p_class: NDArray[np.float64], p_hostile_min: float) -> tuple[list[str], list[str]]:
    """(identity, cls) per row: the most probable class; a hostile drone below the
    doctrine's P(hostile) threshold reads as unknown."""
    k = np.argmax(p_class, axis=1) if p_class.size else np.zeros(0, np.int64)
    cls = [CLASSES[int(i)] for i in k]
    ident = [("hostile" if p_class[r, 0] >= p_hostile_min else "unknown")
             if c == "hostile_drone" else _IDENTITY[c] for r, c in enumerate(cls)]
    return ident, cls


def tracks_json(frame: Frame, ids: NDArray[np.int64], x: NDArray[np.float64],
                p_diag: NDArray[np.float64], p_class: NDArray[np.float64],
                status: NDArray[np.int64], threat: NDArray[np.float64],
                asset_names: list[str], p_hostile_min: float,
                history: dict[int, list[list[float]]]) -> list[dict[str, Any]]:
    """Track rows as the UI reads them. ``x`` (n, 6) ENU, ``p_diag`` (n, 6) the covariance
    diagonal, ``p_class`` (n, K), ``status`` (n,) TrackStatus codes, ``threat`` (n, 4):
    asset index (-1: none), P(reach), time-to-go s, threat value."""
    n = ids.size
    if n == 0:
        return []
    lat, lon, alt = frame.to_geodetic(x[:, :3])
    speed = np.hypot(x[:, 3], x[:, 4])
    course = np.degrees(np.arctan2(x[:, 3], x[:, 4])) % 360.0
    # horizontal error: the RMS of the east and north standard deviations, m
    sigma = np.sqrt(np.maximum((p_diag[:, 0] + p_diag[:, 1]) / 2.0, 0.0))
    ident, cls = identity(p_class, p_hostile_min)
    out = []
    for r in range(n):
        a = int(threat[r, 0])
        thr = None
        if a >= 0 and threat[r, 1] > 0 and math.isfinite(threat[r, 2]):
            thr = {"asset": asset_names[a], "p_reach": float(threat[r, 1]),
                   "ttg_s": float(threat[r, 2]), "value": float(threat[r, 3])}
        tid = int(ids[r])
        out.append({
            "id": tid, "lat": float(lat[r]), "lon": float(lon[r]), "alt_m": float(alt[r]),
            "speed_mps": float(speed[r]), "course_deg": float(course[r]),
            "identity": ident[r], "cls": cls[r], "p_class": [float(v) for v in p_class[r]],
            "airframe": "fixed_wing" if speed[r] > FIXED_WING_ABOVE_MPS else "multirotor",
            "status": STATUS_NAMES[int(status[r])], "history": history.get(tid, []),
            "sigma_m": float(sigma[r]), "threat": thr,
        })
    return out


def threat_queue(tracks: list[dict[str, Any]]) -> list[int]:
    """Track ids with a threat, most urgent (shortest time-to-go) first."""
    th = [(t["threat"]["ttg_s"], t["id"]) for t in tracks if t["threat"] is not None]
    return [i for _, i in sorted(th)]


def engagement_json(eid: int, track: int, effector: str, kind: str, state: str,
                    result: str | None, pk: float, cost_usd: float, reason: str,
                    expires_in_s: float | None, decided_by: str, *,
                    task: str | None = None, why: str = "") -> dict[str, Any]:
    """``why``: the reason given with its last change of state (e.g. why an approved
    engagement expired at its fire time: "track lost before firing")."""
    return {"id": eid, "track": track, "effector": effector, "kind": kind, "state": state,
            "result": result or None, "pk": float(pk), "cost_usd": float(cost_usd),
            "reason": reason, "expires_in_s": expires_in_s, "decided_by": decided_by or None,
            "task": task, "why": why or None}


def trails(frame: Frame, recs: list[dict[str, NDArray[Any]]], ids: NDArray[np.int64]
             ) -> dict[int, list[list[float]]]:
    """Trails of ``ids`` from per-step records (one vectorised pass, thinned)."""
    if not recs or not ids.size:
        return {}
    rid = np.concatenate([r["id"] for r in recs])
    xyz = np.concatenate([r["x"][:, :3] for r in recs])
    keep = np.isin(rid, ids)
    rid, xyz = rid[keep], xyz[keep]
    if not rid.size:
        return {}
    lat, lon, _ = frame.to_geodetic(xyz)
    order = np.argsort(rid, kind="stable")  # per id, in time order
    rid, lat, lon = rid[order], lat[order], lon[order]
    starts = np.flatnonzero(np.r_[True, rid[1:] != rid[:-1]])
    ends = np.r_[starts[1:], rid.size]
    out = {}
    for s, e in zip(starts, ends, strict=True):
        idx = np.unique(np.linspace(s, e - 1, min(e - s, HISTORY_POINTS)).astype(np.int64))
        out[int(rid[s])] = [[float(lat[i]), float(lon[i])] for i in idx]
    return out
