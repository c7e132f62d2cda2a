"""ASTERIX in: CAT048 radar plots and CAT062 system tracks over UDP, as Detections
(PyPI ``libasterix``, module ``asterix``; docs/live.md, "Feeds").

Items used
  CAT048 (edition 1.32): 010 SAC/SIC, 140 time of day, 040 measured position (RHO, THETA),
  110 measured 3-D height (optional; without it the plot is a 2-D one), 020 report type.
  CAT062 (edition 1.21): 010 SAC/SIC, 070 time of track information, 105 WGS84 position or
  100 cartesian position, 130 geometric altitude (optional), 040 track number, 080 track
  status, 500 estimated accuracies (APC / APW, AGA; optional).

A plot is a polar measurement from the radar that SAC/SIC names (its scenario position and
its scenario accuracies), converted with the unbiased conversion (``core.convert``); a
CAT062 track is a position report. Heights are above the site's ground (the scenario's
convention). A datagram that does not parse, a record without a position, or a source
not mapped to a sensor is counted and dropped; nothing raises out of the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asterix.generated as gen
import numpy as np
from asterix.base import Bits, RawDatablock
from numpy.typing import NDArray

from bastion.core.convert import polar_to_enu
from bastion.core.detections import Detections, K
from bastion.live.sapient import (
    DEFAULT_SIGMA_AZ_RAD,
    DEFAULT_SIGMA_EL_RAD,
    DEFAULT_SIGMA_H_M,
    DEFAULT_SIGMA_RANGE_M,
    DEFAULT_SIGMA_V_M,
    ground_geodetic,
    polar_for,
)
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Radar, Scenario

__all__ = ["AsterixEndpoint", "AsterixReader", "Plot", "Track", "decode_datagram",
           "default_sac_sic", "encode_plot", "encode_track", "track_of"]

log = logging.getLogger(__name__)

CAT048 = gen.Cat_048_1_32
CAT062 = gen.Cat_062_1_21
NM_M = 1852.0
FT_M = 0.3048
DAY_S = 86_400.0
# Encoding resolutions (the LSBs of the items), for tests and for readers.
RHO_LSB_M = NM_M / 256.0
THETA_LSB_DEG = 360.0 / 65536.0
HEIGHT_LSB_M = 25.0 * FT_M
TOD_LSB_S = 1.0 / 128.0
LATLON_LSB_DEG = 180.0 / 2**25
XY_LSB_M = 0.5
ALT_LSB_M = 6.25 * FT_M


def default_sac_sic(scenario: Scenario) -> dict[str, tuple[int, int]]:
    """Sensor name → (SAC, SIC): SAC 1, SIC the sensor's position in the scenario + 1.
    ASSUMED: a site's own numbering; a real installation passes its own table."""
    return {s.name: (1, i + 1) for i, s in enumerate(scenario.sensors)}


@dataclass(frozen=True, slots=True)
class Plot:
    """A CAT048 plot: slant range, azimuth from true north, optional height, time of day."""

    sac: int
    sic: int
    tod_s: float
    range_m: float
    azimuth_deg: float
    height_m: float | None


@dataclass(frozen=True, slots=True)
class Track:
    """A CAT062 track: WGS84 (lat, lon) or cartesian (x, y about the system reference)."""

    sac: int
    sic: int
    tod_s: float
    track: int
    lat_deg: float | None
    lon_deg: float | None
    x_m: float | None
    y_m: float | None
    alt_m: float | None
    sigma_xy_m: tuple[float, float] | None
    sigma_alt_m: float | None


# ---------------------------------------------------------------------------- encode
def _tod(t_utc: float) -> float:
    return t_utc % DAY_S


def encode_plot(sac: int, sic: int, z_enu: NDArray[np.float64], radar_enu: NDArray[np.float64],
                t_utc: float, sigma_az_rad: float = 0.0, sigma_el_rad: float = 0.0) -> bytes:
    """One CAT048 datablock with one plot of a report at ``z_enu`` from the radar at
    ``radar_enu``. With the radar's angle sigmas the polar values are the unbiased
    conversion inverted (as the SAPIENT feed does), so decoding gives back ``z_enu`` up to
    the items' resolution."""
    r, a, e = polar_for(np.asarray(z_enu, float) - np.asarray(radar_enu, float),
                        sigma_az_rad, sigma_el_rad)
    h = float(radar_enu[2]) + r * math.sin(e)
    rho_nm = min(r / NM_M, 256.0 - 1.0 / 256.0)
    rec = CAT048.cv_record.create({
        "010": (("SAC", int(sac)), ("SIC", int(sic))),
        "140": (round(_tod(t_utc) / TOD_LSB_S) % (1 << 24) * TOD_LSB_S, "s"),
        "020": ((("TYP", 1), 0, 0, 0, 0, None),),  # single PSR detection
        "040": (("RHO", (rho_nm, "NM")), ("THETA", (math.degrees(a) % 360.0, "°"))),
        "110": (0, ("3DH", (h / FT_M, "ft"))),
    })
    return bytes(CAT048.create([rec]).unparse().to_bytes())


def encode_track(sac: int, sic: int, track: int, lat_deg: float, lon_deg: float,
                 alt_m: float, t_utc: float, sigma_xy_m: tuple[float, float] | None = None,
                 sigma_alt_m: float | None = None) -> bytes:
    """One CAT062 datablock with one track at WGS84 (lat, lon) and geometric altitude."""
    items: dict[str, Any] = {
        "010": (("SAC", int(sac)), ("SIC", int(sic))),
        "070": (round(_tod(t_utc) / TOD_LSB_S) % (1 << 24) * TOD_LSB_S, "s"),
        "105": (("LAT", (lat_deg, "°")), ("LON", (lon_deg, "°"))),
        "130": (alt_m / FT_M, "ft"),
        "040": int(track) & 0xFFFF,
        "080": ((0, 0, 0, 0, 0, None),),
    }
    rec = CAT062.cv_record.create(items)
    acc: dict[str, Any] = {}
    if sigma_xy_m is not None:
        acc["APC"] = (("X", (min(sigma_xy_m[0], 127.5), "m")),
                      ("Y", (min(sigma_xy_m[1], 127.5), "m")))
    if sigma_alt_m is not None:
        acc["AGA"] = (min(sigma_alt_m / FT_M, 1587.5), "ft")
    if acc:
        rec = rec.set_item("500", acc)
    return bytes(CAT062.create([rec]).unparse().to_bytes())


# ---------------------------------------------------------------------------- decode
def _q(item: Any, name: str, unit: str) -> float:
    return float(item.variation.get_item(name).variation.content.as_quantity(unit))


def _sac_sic(rec: Any) -> tuple[int, int]:
    i = rec.get_item("010")
    if i is None:
        raise ValueError("no I010 (SAC/SIC)")
    v = i.variation
    return (int(v.get_item("SAC").variation.content.as_uint()),
            int(v.get_item("SIC").variation.content.as_uint()))


def _plot(rec: Any) -> Plot:
    sac, sic = _sac_sic(rec)
    t = rec.get_item("140")
    pos = rec.get_item("040")
    if t is None or pos is None:
        raise ValueError("plot without I140 time of day or I040 position")
    h = rec.get_item("110")
    return Plot(sac, sic, float(t.variation.content.as_quantity("s")),
                _q(pos, "RHO", "NM") * NM_M, _q(pos, "THETA", "°"),
                None if h is None else _q(h, "3DH", "ft") * FT_M)


def _track(rec: Any) -> Track:
    sac, sic = _sac_sic(rec)
    t = rec.get_item("070")
    if t is None:
        raise ValueError("track without I070 time of track information")
    wgs, xy = rec.get_item("105"), rec.get_item("100")
    if wgs is None and xy is None:
        raise ValueError("track without I105 or I100 position")
    alt = rec.get_item("130")
    num = rec.get_item("040")
    acc = rec.get_item("500")
    sxy: tuple[float, float] | None = None
    salt: float | None = None
    if acc is not None:
        v = acc.variation
        apc, apw, aga = v.get_item("APC"), v.get_item("APW"), v.get_item("AGA")
        if apc is not None:
            sxy = (_q(apc, "X", "m"), _q(apc, "Y", "m"))
        elif apw is not None and wgs is not None:
            lat = _q(wgs, "LAT", "°")
            de = math.radians(1.0) * 6_378_137.0
            sxy = (_q(apw, "LON", "°") * de * math.cos(math.radians(lat)),
                   _q(apw, "LAT", "°") * de)
        if aga is not None:
            salt = float(aga.variation.content.as_quantity("ft")) * FT_M
    return Track(
        sac, sic, float(t.variation.content.as_quantity("s")),
        -1 if num is None else int(num.variation.content.as_uint()),
        None if wgs is None else _q(wgs, "LAT", "°"), None if wgs is None else _q(wgs, "LON", "°"),
        None if xy is None else _q(xy, "X", "m"), None if xy is None else _q(xy, "Y", "m"),
        None if alt is None else float(alt.variation.content.as_quantity("ft")) * FT_M,
        sxy, salt)


def decode_datagram(data: bytes) -> tuple[list[Plot | Track], list[str], int]:
    """A UDP datagram → (plots and tracks, reasons for what could not be used, datablocks
    of other categories skipped, e.g. CAT034 sector messages). Never raises: anything the
    parser rejects is a reason."""
    out: list[Plot | Track] = []
    bad: list[str] = []
    skipped = 0
    try:
        blocks = RawDatablock.parse(Bits.from_bytes(data))
    except Exception as e:  # the library asserts on some malformed input
        return out, [f"datagram: {type(e).__name__}"], 0
    if isinstance(blocks, ValueError):
        return out, [f"datagram: {blocks}"], 0
    for db in blocks:
        try:
            cat = db.get_category()
            spec = {48: CAT048, 62: CAT062}.get(cat)
            if spec is None:
                skipped += 1
                continue
            recs = spec.cv_uap.parse(db.get_raw_records())
            if isinstance(recs, ValueError):
                bad.append(f"CAT{cat:03d}: {recs}")
                continue
            for rec in recs:
                try:
                    out.append(_plot(rec) if cat == 48 else _track(rec))
                except Exception as e:
                    bad.append(f"CAT{cat:03d} record: {e}")
        except Exception as e:
            bad.append(f"datablock: {type(e).__name__}: {e}")
    return out, bad, skipped


class AsterixReader:
    """Plots and tracks → Detections rows for a scenario's sensors (by SAC/SIC)."""

    def __init__(self, scenario: Scenario, *, epoch_utc: float,
                 sac_sic: dict[str, tuple[int, int]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.geo = Frame(scenario.origin)
        self.epoch_utc = float(epoch_utc)
        self.clock = clock
        names = default_sac_sic(scenario) if sac_sic is None else sac_sic
        index = {s.name: i for i, s in enumerate(scenario.sensors)}
        self.sensor_of: dict[tuple[int, int], int] = {}
        for name, code in names.items():
            if name not in index:
                raise ValueError(f"SAC/SIC table: {name!r} is not a sensor of "
                                 f"{scenario.name}")
            self.sensor_of[tuple(code)] = index[name]  # type: ignore[index]
        self.names = [s.name for s in scenario.sensors]
        self.pos = [self.geo.point(s.position) for s in scenario.sensors]
        self.sig = [(s.sigma_range_m, math.radians(s.sigma_azimuth_deg),
                     math.radians(s.sigma_elevation_deg)) if isinstance(s, Radar) else
                    (DEFAULT_SIGMA_RANGE_M, DEFAULT_SIGMA_AZ_RAD, DEFAULT_SIGMA_EL_RAD)
                    for s in scenario.sensors]

    def t_s(self, tod_s: float) -> float:
        """Time of day → session time: the UTC day that puts it nearest the clock."""
        now = self.clock()
        base = math.floor(now / DAY_S) * DAY_S + tod_s
        best = min((base - DAY_S, base, base + DAY_S), key=lambda t: abs(t - now))
        return best - self.epoch_utc

    def sensor(self, sac: int, sic: int) -> int:
        s = self.sensor_of.get((sac, sic))
        if s is None:
            raise KeyError(f"SAC/SIC {sac}/{sic} is not mapped to a sensor")
        return s

    def to_detections(self, item: Plot | Track) -> tuple[str, Detections]:
        """(sensor name, one row); KeyError for an unmapped source, ValueError for values
        out of range."""
        s = self.sensor(item.sac, item.sic)
        if isinstance(item, Plot):
            z, R = self._plot(item, s)
        else:
            z, R = self._track(item)
        if not (np.all(np.isfinite(z)) and np.all(np.isfinite(R))):
            raise ValueError("non-finite position")
        return self.names[s], Detections(
            np.array([self.t_s(item.tod_s)]), np.array([s], np.int64), z.reshape(1, 3),
            R.reshape(1, 3, 3), np.zeros((1, K)), np.array([-1], np.int64),
            np.array([0], np.int64))

    def _plot(self, p: Plot, s: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        sr, sa, se = self.sig[s]
        radar = self.pos[s]
        if p.height_m is None or p.range_m <= 0.0:
            e, se = 0.0, DEFAULT_SIGMA_EL_RAD  # a 2-D plot: ASSUMED level, ±5°
        else:
            e = math.asin(max(-1.0, min(1.0, (p.height_m - float(radar[2])) / p.range_m)))
        z, R = polar_to_enu(radar, [p.range_m], [math.radians(p.azimuth_deg)], [e], sr, sa, se)
        return z[0], R[0]

    def _track(self, t: Track) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        h = 0.0 if t.alt_m is None else t.alt_m
        if t.lat_deg is not None and t.lon_deg is not None:
            if not (-90.0 <= t.lat_deg <= 90.0 and -180.0 <= t.lon_deg <= 180.0):
                raise ValueError("latitude/longitude out of range")
            z = np.asarray(self.geo.to_enu(t.lat_deg, t.lon_deg, h), float)
        else:
            # ASSUMED: the tracker's system reference point is the scenario origin
            z = np.array([t.x_m, t.y_m, h], float)
        sx, sy = t.sigma_xy_m or (DEFAULT_SIGMA_H_M, DEFAULT_SIGMA_H_M)
        sz = t.sigma_alt_m or (DEFAULT_SIGMA_V_M if t.alt_m is not None else 1_000.0)
        # a zero accuracy (the item's floor) would be a singular covariance: 0.5 m floor
        sx, sy, sz = (max(v, XY_LSB_M) for v in (sx, sy, sz))
        return z, np.diag([sx * sx, sy * sy, sz * sz])


class AsterixEndpoint(asyncio.DatagramProtocol):
    """UDP endpoint (bind 127.0.0.1 by default): each datagram decoded, each plot or track
    submitted to the sink as one Detections row; bad ones counted, never raised."""

    def __init__(self, scenario: Scenario, sink: Any, *, epoch_utc: float | None = None,
                 sac_sic: dict[str, tuple[int, int]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if epoch_utc is None:
            epoch_utc = getattr(sink, "epoch_utc", None)
        self.reader = AsterixReader(scenario, epoch_utc=clock() if epoch_utc is None
                                    else epoch_utc, sac_sic=sac_sic, clock=clock)
        self.sink = sink
        self.counters: dict[str, int] = {k: 0 for k in (
            "datagrams", "plots", "tracks", "reports", "bad_messages", "bad_datagrams",
            "bad_records", "unknown_source", "bad_value", "rejected", "skipped_blocks")}
        self.transport: asyncio.DatagramTransport | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self,
                                                           local_addr=(host, port))
        self.transport = transport
        h, p = transport.get_extra_info("sockname")[:2]
        return h, p

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _bad(self, reason: str, n: int = 1) -> None:
        self.counters[reason] += n
        self.counters["bad_messages"] += n
        sink_counters = getattr(self.sink, "counters", None)
        if isinstance(sink_counters, dict):
            sink_counters["bad_messages"] = sink_counters.get("bad_messages", 0) + n

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.counters["datagrams"] += 1
        items, bad, skipped = decode_datagram(data)
        self.counters["skipped_blocks"] += skipped
        if bad:
            self._bad("bad_datagrams" if not items else "bad_records", len(bad))
        for it in items:
            try:
                name, det = self.reader.to_detections(it)
            except KeyError:
                self._bad("unknown_source")
                continue
            except Exception:
                self._bad("bad_value")
                continue
            try:
                self.sink.submit(det, node=name)
            except Exception:
                log.exception("sink refused an ASTERIX report")
                self._bad("rejected")
                continue
            self.counters["plots" if isinstance(it, Plot) else "tracks"] += 1
            self.counters["reports"] += 1

    def error_received(self, exc: Exception) -> None:  # pragma: no cover - OS dependent
        log.warning("ASTERIX socket: %s", exc)


def track_of(geo: Frame, z_enu: NDArray[np.float64]) -> tuple[float, float, float]:
    """(lat, lon, height) of an ENU point, for :func:`encode_track`."""
    return ground_geodetic(geo, z_enu)


async def serve(sink: Any, host: str, port: int) -> None:
    """Run an ASTERIX UDP endpoint for ``sink`` (a LiveDriver) until cancelled."""
    endpoint = AsterixEndpoint(sink.sc, sink)
    await endpoint.start(host, port)
    try:
        await asyncio.Event().wait()
    finally:
        endpoint.close()
