"""Cursor-on-Target out: the picture's tracks (docs/live.md) as CoT XML events.

Pure functions, no I/O: `picture_events` turns one `LiveDriver.snapshot()` into the bytes of
one CoT ``<event>`` per track that is to be sent; `live/cot_sender.py` puts them on the wire.

Error figures follow the CoT Event schema (MITRE, ``event/point`` attribute notes): when ``ce``
and ``le`` describe an error, each is "the one sigma point for a zero mean normal (Gaussian)
distribution", in metres; 9 999 999 means unknown. We therefore send

    ce = sqrt((var_east + var_north) / 2)     the RMS of the two horizontal 1-sigma axes
    le = sqrt(var_up)                          the vertical 1-sigma

from the track's ENU position covariance. ``ce`` is the trace of the horizontal block, so it
does not depend on the ellipse's orientation, grows with every added uncertainty, and equals
the per-axis sigma for a circular error (then 39 % of fixes lie within ce; 95 % within
2.4477·ce). See docs/live.md "Cursor-on-Target out".
"""

from __future__ import annotations

import ipaddress
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

# CoT's own "unknown" for ce / le / hae (Event schema: values up to 9999999.0).
UNKNOWN_ERROR_M = 9_999_999.0

# Type by (identity, airframe). 2525 air dimension "A", military "M"; F fixed wing, H rotary
# wing, Q the drone (UAV) modifier. Own aircraft are the site's manned aircraft, so no Q.
COT_TYPES: dict[tuple[str, str], str] = {
    ("hostile", "fixed_wing"): "a-h-A-M-F-Q",
    ("hostile", "multirotor"): "a-h-A-M-H-Q",
    ("unknown", "fixed_wing"): "a-u-A-M-F-Q",
    ("unknown", "multirotor"): "a-u-A-M-H-Q",
    ("friend", "fixed_wing"): "a-f-A-M-F",
    ("friend", "multirotor"): "a-f-A-M-H",
    # A bird is a real object but no aircraft: 2525 has no bird symbol, so a neutral air track
    # without function. Sent only when CotOptions.send_neutral (off by default).
    ("neutral", "fixed_wing"): "a-n-A",
    ("neutral", "multirotor"): "a-n-A",
}

# CoT "how": m-f machine fused (the tracker fuses every sensor); m-p machine predicted (a
# coasting track is the filter's prediction with no recent report).
_HOW = {"confirmed": "m-f", "tentative": "m-f", "coasting": "m-p"}

_UID_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class CotOptions(BaseModel):
    """What is sent, how often and how long it stays fresh."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    url: str = Field("tcp://127.0.0.1:8087", description="tcp://HOST:PORT or udp://HOST:PORT")
    site: str = Field("site", min_length=1, max_length=64, description="uid namespace")
    # ASSUMED: 1 Hz is TAK's usual track rate (ATAK's own SA is far slower); tracks update
    # every radar scan (1-4 s) so more adds only traffic.
    interval_s: float = Field(1.0, ge=0.05, le=60.0)
    # None → interval_s + 4 s. ASSUMED: a few updates may be lost or late (TCP reconnect,
    # UDP loss) before a TAK user should see the track go stale (greyed out).
    stale_s: float | None = Field(None, gt=0.0, le=3600.0)
    statuses: frozenset[Literal["tentative", "confirmed", "coasting"]] = frozenset(
        {"confirmed"})
    send_neutral: bool = False
    callsign_prefix: str = Field("BST-", max_length=16)
    reconnect_initial_s: float = Field(1.0, gt=0.0, le=60.0)
    reconnect_max_s: float = Field(30.0, gt=0.0, le=600.0)
    queue_max: int = Field(1000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> CotOptions:
        m = re.fullmatch(r"(tcp|udp)://([^/:]+):(\d{1,5})", self.url)
        if m is None:
            raise ValueError(f"url {self.url!r}: expected tcp://HOST:PORT or udp://HOST:PORT")
        if not 0 < int(m.group(3)) < 65536:
            raise ValueError(f"url {self.url!r}: port out of range")
        try:
            ip = ipaddress.ip_address(m.group(2))
        except ValueError:
            ip = None  # a host name: resolved when connecting
        if ip is not None and (ip.is_multicast or ip == ipaddress.ip_address("255.255.255.255")):
            raise ValueError(f"url {self.url!r}: multicast/broadcast is not allowed; "
                             "give the TAK server's unicast address")
        if self.stale_s is not None and self.stale_s <= self.interval_s:
            raise ValueError("stale_s must exceed interval_s, or every track flickers stale")
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        return self

    @property
    def stale_after_s(self) -> float:
        return self.stale_s if self.stale_s is not None else self.interval_s + 4.0


def ce_le_from_cov(cov_enu_m2: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(ce, le) in metres, 1-sigma as the CoT schema defines them, from ENU position
    covariances of shape (..., 3, 3) (or the position block of (..., 6, 6) states)."""
    p = np.asarray(cov_enu_m2, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != p.shape[-2] or p.shape[-1] < 3:
        raise ValueError(f"covariance: expected shape (..., 3, 3), got {p.shape}")
    var_e, var_n, var_u = p[..., 0, 0], p[..., 1, 1], p[..., 2, 2]
    if not (np.all(np.isfinite(p[..., :3, :3]))
            and np.all(var_e >= 0) and np.all(var_n >= 0) and np.all(var_u >= 0)):
        raise ValueError("covariance: variances must be finite and >= 0")
    return np.sqrt(0.5 * (var_e + var_n)), np.sqrt(var_u)


def cot_type(identity: str, airframe: str) -> str:
    """The CoT (2525) type of a track; KeyError for a pair the picture never produces."""
    return COT_TYPES[(identity, airframe)]


def site_uid_part(site: str) -> str:
    """The site name as it appears in uids: letters, digits, `_.-` only."""
    return _UID_SAFE.sub("-", site.strip()).strip("-").lower() or "site"


def track_uid(site: str, track_id: object) -> str:
    return f"bastion-{site_uid_part(site)}-{_id_part(track_id)}"


def _id_part(track_id: object) -> str:
    # the picture's ids are integers; anything else is made XML- and uid-safe, never sent raw
    return _UID_SAFE.sub("-", str(track_id))


def cot_time(t_utc_s: float) -> str:
    """W3C dateTime in UTC with milliseconds, as CoT writes times."""
    d = datetime.fromtimestamp(t_utc_s, tz=UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _num(track: Mapping[str, Any], key: str) -> float | None:
    v = track.get(key)
    if v is None:
        return None
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"track {track.get('id')!r}: {key} is not finite")
    return f


def _ce_le(track: Mapping[str, Any]) -> tuple[float, float]:
    """Explicit ce_m / le_m, else a covariance cov_enu_m2, else sigma_m (the picture's
    horizontal 1-sigma) with sigma_v_m; whatever is missing is CoT's unknown."""
    ce, le = _num(track, "ce_m"), _num(track, "le_m")
    cov = track.get("cov_enu_m2")
    if cov is not None and (ce is None or le is None):
        c, v = ce_le_from_cov(cov)
        ce = float(c) if ce is None else ce
        le = float(v) if le is None else le
    if ce is None:
        ce = _num(track, "sigma_m")
    if le is None:
        le = _num(track, "sigma_v_m")
    ce = UNKNOWN_ERROR_M if ce is None else min(max(ce, 0.0), UNKNOWN_ERROR_M)
    le = UNKNOWN_ERROR_M if le is None else min(max(le, 0.0), UNKNOWN_ERROR_M)
    return ce, le


def _remarks(track: Mapping[str, Any]) -> str:
    parts = [f"bastion track {track.get('id')}", str(track.get("cls", "")),
             str(track.get("airframe", "")), str(track.get("status", ""))]
    p_class = track.get("p_class")
    if p_class:
        parts.append("p_class=" + "/".join(f"{float(p):.2f}" for p in p_class))
    threat = track.get("threat")
    if threat:
        parts.append(f"threat to {threat.get('asset')}: P(reach)={float(threat['p_reach']):.2f}"
                     f" ttg {float(threat['ttg_s']):.0f} s")
    return " ".join(p for p in parts if p)


def track_event(track: Mapping[str, Any], *, site: str, now_utc_s: float, stale_after_s: float,
                callsign_prefix: str = "BST-") -> ET.Element:
    """One picture track row → a CoT ``<event>`` element. ValueError / KeyError on a row
    that is not a track (missing or non-finite position, unknown identity/airframe)."""
    lat, lon = _num(track, "lat"), _num(track, "lon")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"track {track.get('id')!r}: lat/lon missing or out of range")
    hae = _num(track, "alt_m")
    ce, le = _ce_le(track)
    ev = ET.Element("event", {
        "version": "2.0",
        "uid": track_uid(site, track["id"]),
        "type": cot_type(str(track["identity"]), str(track["airframe"])),
        "how": _HOW.get(str(track.get("status")), "m-f"),
        "time": cot_time(now_utc_s),
        "start": cot_time(now_utc_s),
        "stale": cot_time(now_utc_s + stale_after_s),
    })
    ET.SubElement(ev, "point", {
        "lat": f"{lat:.7f}", "lon": f"{lon:.7f}",
        # alt_m as the driver gives it (geodetic from ENU about the site origin) is taken as
        # height above the ellipsoid.
        "hae": f"{hae:.1f}" if hae is not None else f"{UNKNOWN_ERROR_M:.1f}",
        "ce": f"{ce:.1f}", "le": f"{le:.1f}",
    })
    detail = ET.SubElement(ev, "detail")
    course, speed = _num(track, "course_deg"), _num(track, "speed_mps")
    if course is not None and speed is not None:
        # CoT track detail: course in degrees from true north, speed in m/s.
        ET.SubElement(detail, "track", {"course": f"{course % 360.0:.1f}",
                                        "speed": f"{max(speed, 0.0):.1f}"})
    ET.SubElement(detail, "contact", {"callsign": f"{callsign_prefix}{_id_part(track['id'])}"})
    ET.SubElement(detail, "remarks").text = _remarks(track)
    return ev


def wanted(track: Mapping[str, Any], options: CotOptions) -> bool:
    """Whether a picture row is sent: its status is one of options.statuses and, for a bird
    (neutral), options.send_neutral."""
    if track.get("status") not in options.statuses:
        return False
    return track.get("identity") != "neutral" or options.send_neutral


def picture_events(picture: Mapping[str, Any], options: CotOptions, *,
                   now_utc_s: float) -> tuple[list[bytes], int]:
    """The CoT events of one picture and the number of rows skipped as malformed."""
    out: list[bytes] = []
    bad = 0
    tracks: Iterable[Mapping[str, Any]] = picture.get("tracks") or ()
    for tr in tracks:
        try:
            if not wanted(tr, options):
                continue
            ev = track_event(tr, site=options.site, now_utc_s=now_utc_s,
                             stale_after_s=options.stale_after_s,
                             callsign_prefix=options.callsign_prefix)
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError):
            bad += 1  # one bad row never stops the others
            continue
        out.append(ET.tostring(ev, encoding="utf-8", xml_declaration=False))
    return out, bad
