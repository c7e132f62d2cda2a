"""SAPIENT (BSI Flex 335 v2.0) codec: framing, checks, message builders, and the conversion
between a ``DetectionReport`` and one row of :class:`~bastion.core.detections.Detections`.

Framing: each message on the TCP stream is a 4-byte little-endian length followed by that
many bytes of a serialized ``SapientMessage`` (PyPI ``sapient-msg`` message classes).

Conventions at this edge (docs/live.md, "Feeds"):

* time: the ``SapientMessage.timestamp`` is the report's time; ``t_s = timestamp - epoch``.
* a ``Location`` is WGS84 latitude/longitude with ``z`` the height above the site's ground,
  the scenario's own height convention (flat terrain); ``x_error``/``y_error`` are in the
  coordinate's units (degrees or radians), ``z_error`` in metres.
* a ``RangeBearing`` is relative to the node's position (its last StatusReport location,
  else the scenario's position of the sensor it registered as), true north, azimuth
  clockwise from north, elevation above the horizontal; converted with the unbiased
  converted measurement (``core.convert.polar_to_enu``).
"""

from __future__ import annotations

import math
import struct
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymap3d
from google.protobuf.message import Message
from numpy.typing import NDArray
from sapient_msg import proto_options_pb2 as _opts
from sapient_msg.bsi_flex_335_v2_0 import (
    Alert,
    DetectionReport,
    Location,
    LocationCoordinateSystem,
    LocationDatum,
    RangeBearing,
    RangeBearingCoordinateSystem,
    RangeBearingDatum,
    Registration,
    SapientMessage,
    StatusReport,
    Task,
    TaskAck,
)

from bastion.core.convert import polar_to_enu
from bastion.core.detections import Detections, K

__all__ = [
    "CLASS_NAMES",
    "HEADER",
    "MAX_FRAME_BYTES",
    "BadFrame",
    "FrameDecoder",
    "GoodFrame",
    "SapientError",
    "alert",
    "check_mandatory",
    "content_kind",
    "detection_report_location",
    "detection_report_polar",
    "error",
    "evidence_from_classification",
    "frame",
    "from_timestamp_ns",
    "ground_geodetic",
    "health_of",
    "location_to_enu",
    "node_uuid",
    "parse_message",
    "polar_for",
    "range_bearing_to_enu",
    "registration",
    "registration_ack",
    "report_to_detections",
    "session_time_s",
    "status_report",
    "task",
    "task_ack",
    "ulid",
]

HEADER = struct.Struct("<I")
# ASSUMED: no SAPIENT message a C-UAS node sends comes near 1 MiB (a detection report is a
# few hundred bytes); a larger length is a corrupt stream, not a message to buffer.
MAX_FRAME_BYTES = 1 << 20
ICD_VERSION = "BSI Flex 335 v2.0"


class SapientError(ValueError):
    """A message that cannot be used; ``reason`` is its counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------- framing
@dataclass(frozen=True, slots=True)
class GoodFrame:
    """One well-framed, parsed and checked message, with its bytes (for an Error reply)."""

    message: SapientMessage
    raw: bytes


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame that could not be used. ``fatal``: the stream cannot be resynchronised."""

    reason: str  # bad_length | bad_protobuf | missing_field
    detail: str
    raw: bytes
    fatal: bool = False


def frame(msg: SapientMessage) -> bytes:
    body = msg.SerializeToString()
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive, get back every complete
    frame, each a :class:`GoodFrame` or a :class:`BadFrame`. After a fatal bad frame (a length
    beyond ``max_bytes``) the decoder stops: the connection must be closed."""

    def __init__(self, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self.dead = False

    def feed(self, data: bytes) -> list[GoodFrame | BadFrame]:
        if self.dead:
            return []
        buf = self._buf
        buf += data
        out: list[GoodFrame | BadFrame] = []
        pos = 0
        while len(buf) - pos >= 4:
            (n,) = HEADER.unpack_from(buf, pos)
            if n == 0:  # an empty message: skip its header, the stream stays in step
                out.append(BadFrame("bad_length", "length 0", bytes(buf[pos:pos + 4])))
                pos += 4
                continue
            if n > self.max_bytes:
                out.append(BadFrame("bad_length", f"length {n} > {self.max_bytes}",
                                    bytes(buf[pos:pos + 4]), fatal=True))
                self.dead = True
                buf.clear()
                return out
            if len(buf) - pos - 4 < n:
                break
            raw = bytes(buf[pos + 4:pos + 4 + n])
            pos += 4 + n
            try:
                out.append(GoodFrame(parse_message(raw), raw))
            except SapientError as e:
                out.append(BadFrame(e.reason, e.detail, raw))
        del buf[:pos]
        return out


def parse_message(raw: bytes) -> SapientMessage:
    """Bytes → a checked ``SapientMessage``; :class:`SapientError` (bad_protobuf or
    missing_field) otherwise."""
    msg = SapientMessage()
    try:
        msg.ParseFromString(raw)
    except Exception as e:  # DecodeError, or anything the C parser raises on garbage
        raise SapientError("bad_protobuf", str(e) or type(e).__name__) from None
    missing = check_mandatory(msg)
    if missing:
        raise SapientError("missing_field", missing)
    return msg


def _mandatory(opts: Any, ext: Any) -> bool:
    return bool(opts.HasExtension(ext) and opts.Extensions[ext].is_mandatory)


_PLANS: dict[str, tuple[list[str], list[tuple[str, bool, bool]]]] = {}


def _plan(desc: Any) -> tuple[list[str], list[tuple[str, bool, bool]]]:
    """A message type's mandatory oneofs and (field, repeated, has presence), read from the
    ICD's options once per type (reading options per message cost 0.2 ms a report)."""
    plan = _PLANS.get(desc.full_name)
    if plan is None:
        oneofs = [o.name for o in desc.oneofs if _mandatory(o.GetOptions(), _opts.oneof_options)]
        fields = [(f.name, f.is_repeated, f.has_presence) for f in desc.fields
                  if _mandatory(f.GetOptions(), _opts.field_options)]
        plan = _PLANS[desc.full_name] = (oneofs, fields)
    return plan


def check_mandatory(msg: Message, path: str = "") -> str | None:
    """The dotted path of the first mandatory field (the ICD's ``is_mandatory`` options)
    missing from ``msg`` or from any message inside it, or None. A mandatory repeated field
    needs at least one element; proto3 scalars without presence cannot be checked."""
    oneofs, fields = _plan(msg.DESCRIPTOR)
    for name in oneofs:
        if msg.WhichOneof(name) is None:
            return f"{path}{name}"
    for name, repeated, presence in fields:
        if repeated:
            if len(getattr(msg, name)) == 0:
                return f"{path}{name}"
        elif presence and not msg.HasField(name):
            return f"{path}{name}"
    for f, value in msg.ListFields():  # only what is set: the C layer lists it
        if f.message_type is None or f.message_type.GetOptions().map_entry:
            continue
        if f.is_repeated:
            for i, sub in enumerate(value):
                bad = check_mandatory(sub, f"{path}{f.name}[{i}].")
                if bad:
                    return bad
        else:
            bad = check_mandatory(value, f"{path}{f.name}.")
            if bad:
                return bad
    return None


# ---------------------------------------------------------------------------- ids and time
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(t_ms: int, counter: int) -> str:
    """A 26-character ULID from a millisecond time and a counter (deterministic: the 80
    'random' bits are the counter, unique per sender)."""
    v = ((int(t_ms) & ((1 << 48) - 1)) << 80) | (int(counter) & ((1 << 80) - 1))
    return "".join(_CROCKFORD[(v >> (5 * i)) & 31] for i in range(25, -1, -1))


def node_uuid(name: str, session: str = "bastion") -> str:
    """A stable UUID for a node named ``name`` (uuid5), the same every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bastion:{session}:{name}"))


def _stamp(msg: SapientMessage, t_ns: int, node_id: str) -> SapientMessage:
    msg.timestamp.seconds, msg.timestamp.nanos = divmod(int(t_ns), 1_000_000_000)
    msg.node_id = node_id
    return msg


def from_timestamp_ns(msg: SapientMessage) -> int:
    return int(msg.timestamp.seconds) * 1_000_000_000 + int(msg.timestamp.nanos)


# ASSUMED: a report stamped more than 30 days from the session epoch is a bad clock, not a
# report (a session lasts hours; a feed at ×N runs ahead of the wall clock by hours at most).
MAX_CLOCK_OFFSET_S = 30 * 86_400.0


def session_time_s(msg: SapientMessage, epoch_ns: int) -> float:
    """The message's timestamp as session seconds; :class:`SapientError` (bad_value) for an
    invalid timestamp or one implausibly far from the epoch."""
    if not 0 <= msg.timestamp.nanos < 1_000_000_000:
        raise SapientError("bad_value", f"timestamp nanos {msg.timestamp.nanos} not in 0..1e9")
    t_s = (from_timestamp_ns(msg) - epoch_ns) / 1e9
    if abs(t_s) > MAX_CLOCK_OFFSET_S:
        raise SapientError("bad_value", f"timestamp {t_s:.0f} s from the session epoch")
    return t_s


# ---------------------------------------------------------------------------- builders
# Node types by scenario sensor/effector kind.
NODE_TYPES = {
    "radar": Registration.NODE_TYPE_RADAR, "rf": Registration.NODE_TYPE_PASSIVE_RF,
    "eoir": Registration.NODE_TYPE_CAMERA, "iff": Registration.NODE_TYPE_OTHER,
    "perimeter": Registration.NODE_TYPE_PROXIMITY_SENSOR, "gun": Registration.NODE_TYPE_KINETIC,
    "missile": Registration.NODE_TYPE_KINETIC, "jammer": Registration.NODE_TYPE_JAMMER,
}


def registration(node_id: str, name: str, kind: str, t_ns: int,
                 status_interval_s: float = 5.0) -> SapientMessage:
    """A Registration naming the node after its scenario sensor or effector (``name``)."""
    msg = SapientMessage()
    r = msg.registration
    r.node_definition.add(node_type=NODE_TYPES.get(kind, Registration.NODE_TYPE_OTHER),
                          node_sub_type=[kind])
    r.icd_version = ICD_VERSION
    r.name = name
    r.short_name = name[:16]
    r.capabilities.add(category=kind, type="bastion simulated node")
    sd = r.status_definition
    sd.status_interval.units = Registration.TIME_UNITS_SECONDS
    sd.status_interval.value = status_interval_s
    md = r.mode_definition.add(mode_name="default", mode_type=Registration.MODE_TYPE_DEFAULT)
    md.settle_time.units = Registration.TIME_UNITS_SECONDS
    md.settle_time.value = 0.0
    rd = md.task.region_definition
    rd.region_type.append(Registration.REGION_TYPE_AREA_OF_INTEREST)
    rd.region_area.add(
        location_units=LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
        location_datum=LocationDatum.LOCATION_DATUM_WGS84_E)
    r.config_data.add(manufacturer="bastion", model=f"simulated {kind}")
    return _stamp(msg, t_ns, node_id)


def registration_ack(node_id: str, t_ns: int, accepted: bool,
                     reasons: list[str] | None = None) -> SapientMessage:
    msg = SapientMessage()
    msg.registration_ack.acceptance = accepted
    msg.registration_ack.ack_response_reason.extend(reasons or [])
    return _stamp(msg, t_ns, node_id)


_SYSTEM = {"ok": StatusReport.SYSTEM_OK, "degraded": StatusReport.SYSTEM_WARNING,
           "fault": StatusReport.SYSTEM_ERROR, "goodbye": StatusReport.SYSTEM_GOODBYE}


def status_report(node_id: str, t_ns: int, report_id: str, health: str = "ok",
                  lat_deg: float | None = None, lon_deg: float | None = None,
                  height_m: float = 0.0, mode: str = "default") -> SapientMessage:
    msg = SapientMessage()
    s = msg.status_report
    s.report_id = report_id
    s.system = _SYSTEM[health]
    s.info = StatusReport.INFO_NEW
    s.mode = mode
    if lat_deg is not None and lon_deg is not None:
        loc = s.node_location
        loc.x, loc.y, loc.z = float(lon_deg), float(lat_deg), float(height_m)
        loc.coordinate_system = LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        loc.datum = LocationDatum.LOCATION_DATUM_WGS84_E
    return _stamp(msg, t_ns, node_id)


def health_of(msg: SapientMessage) -> str:
    """A StatusReport's system state as the UI's health word."""
    return {StatusReport.SYSTEM_OK: "ok", StatusReport.SYSTEM_WARNING: "degraded",
            StatusReport.SYSTEM_ERROR: "fault"}.get(msg.status_report.system, "unknown")


def alert(node_id: str, t_ns: int, alert_id: str, text: str) -> SapientMessage:
    msg = SapientMessage()
    msg.alert.alert_id = alert_id
    msg.alert.alert_type = Alert.ALERT_TYPE_WARNING
    msg.alert.status = Alert.ALERT_STATUS_ACTIVE
    msg.alert.description = text
    return _stamp(msg, t_ns, node_id)


def task(node_id: str, destination_id: str, t_ns: int, task_id: str, name: str,
         description: str, lat_deg: float | None = None, lon_deg: float | None = None,
         height_m: float = 0.0) -> SapientMessage:
    """A START task for an effector node; ``look_at`` the target when its position is
    given."""
    msg = SapientMessage()
    msg.destination_id = destination_id
    tk = msg.task
    tk.task_id = task_id
    tk.task_name = name
    tk.task_description = description
    tk.control = Task.CONTROL_START
    if lat_deg is not None and lon_deg is not None:
        loc = tk.command.look_at.location_list.locations.add()
        loc.x, loc.y, loc.z = float(lon_deg), float(lat_deg), float(height_m)
        loc.coordinate_system = LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        loc.datum = LocationDatum.LOCATION_DATUM_WGS84_E
    else:
        tk.command.request = name
    return _stamp(msg, t_ns, node_id)


def task_ack(node_id: str, t_ns: int, task_id: str, accepted: bool = True,
             reasons: list[str] | None = None) -> SapientMessage:
    msg = SapientMessage()
    msg.task_ack.task_id = task_id
    msg.task_ack.task_status = (TaskAck.TASK_STATUS_ACCEPTED if accepted
                                else TaskAck.TASK_STATUS_REJECTED)
    msg.task_ack.reason.extend(reasons or [])
    return _stamp(msg, t_ns, node_id)


def error(node_id: str, t_ns: int, packet: bytes, text: str) -> SapientMessage:
    msg = SapientMessage()
    msg.error.packet = packet
    msg.error.error_message.append(text)
    return _stamp(msg, t_ns, node_id)


# ---------------------------------------------------------------------------- classes
# SAPIENT classification names (case-insensitive; the ICD's taxonomy words and common
# synonyms) mapped to our identity classes. Names not listed carry no evidence.
CLASS_NAMES: dict[str, int] = {
    "uav": 0, "uas": 0, "drone": 0, "uav rotary wing": 0, "uav fixed wing": 0,
    "air vehicle/uav": 0, "hostile_drone": 0,
    "bird": 1, "animal/bird": 1,
    "aircraft": 2, "manned aircraft": 2, "fixed wing aircraft": 2, "helicopter": 2,
    "own_aircraft": 2,
}
_WIRE_NAMES = ("UAV", "Bird", "Aircraft")  # what our encoder writes, one per class
# ASSUMED: a single-class report with no stated confidence is right 70 % of the time (a
# middling classifier); the rest is spread evenly over the other classes.
DEFAULT_CONFIDENCE = 0.7
_MIN_CONFIDENCE = 1e-30  # log(0) → a very unlikely class, not -inf


def evidence_from_classification(classes: list[tuple[str, float | None]]
                                 ) -> NDArray[np.float64]:
    """(K,) log P(report | class) from (name, confidence) pairs.

    When every one of our classes is named, the confidences are read as the likelihood
    vector itself (our own encoder writes that). Otherwise the most confident recognised
    name is a single-class report with confusion row P(say c | c) = p,
    P(say c | other) = (1 - p)/(K - 1). No recognised name: zeros (no evidence)."""
    seen: dict[int, float | None] = {}
    for name, conf in classes:
        k = CLASS_NAMES.get(name.strip().lower())
        if k is not None:
            if conf is not None and not (math.isfinite(conf) and 0.0 <= conf <= 1.0):
                raise SapientError("bad_value", f"classification confidence {conf} not in 0..1")
            seen[k] = conf if k not in seen or seen[k] is None else seen[k]
    if not seen:
        return np.zeros(K)
    if len(seen) == K and all(v is not None for v in seen.values()):
        return np.log(np.maximum([seen[k] for k in range(K)], _MIN_CONFIDENCE))
    best = max(seen, key=lambda k: -1.0 if seen[k] is None else seen[k])  # type: ignore[operator]
    p = seen[best]
    p = DEFAULT_CONFIDENCE if p is None else min(max(p, _MIN_CONFIDENCE), 1.0 - 1e-12)
    row = np.full(K, (1.0 - p) / (K - 1))
    row[best] = p
    return np.log(row)


def _classes_of(rep: DetectionReport) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = []

    def walk(items: Any) -> None:
        for c in items:
            out.append((c.type, c.confidence if c.HasField("confidence") else None))
            walk(c.sub_class)

    walk(rep.classification)
    return out


def _set_classification(rep: DetectionReport, evidence: NDArray[np.float64]) -> None:
    if not np.any(evidence):
        return
    ev = np.asarray(evidence, float)
    conf = np.exp(ev - ev.max())  # the likelihoods scaled so the largest is 1
    for k in range(K):
        rep.classification.add(type=_WIRE_NAMES[k], confidence=float(conf[k]))


# ---------------------------------------------------------------------------- geometry
_WGS84_A = 6_378_137.0
_WGS84_E2 = 6.694379990141316e-3


def _metres_per_rad(lat_deg: float) -> tuple[float, float]:
    """(east per radian of longitude, north per radian of latitude) at ``lat_deg``."""
    phi = math.radians(lat_deg)
    w = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
    n = _WGS84_A / math.sqrt(w)
    m = _WGS84_A * (1.0 - _WGS84_E2) / w ** 1.5
    return n * math.cos(phi), m


# ASSUMED: accuracies a report leaves out (a node that states none): 50 m horizontal,
# 100 m vertical for a location; 20 m, 1°, 5° for a range/bearing (a small C-UAS radar).
DEFAULT_SIGMA_H_M = 50.0
DEFAULT_SIGMA_V_M = 100.0
DEFAULT_SIGMA_RANGE_M = 20.0
DEFAULT_SIGMA_AZ_RAD = math.radians(1.0)
DEFAULT_SIGMA_EL_RAD = math.radians(5.0)


def _finite(name: str, *vals: float) -> None:
    for v in vals:
        if not math.isfinite(v):
            raise SapientError("bad_value", f"{name} is {v}")


def ground_geodetic(geo: Any, z_enu: NDArray[np.float64]) -> tuple[float, float, float]:
    """(lat, lon, height) whose ``geo.to_enu`` is ``z_enu``: the inverse of the frame's
    flat-terrain mapping. (``Frame.to_geodetic`` puts the point on the tangent plane, which
    at 40 km from the origin is ~0.1 km above the ground the frame measures from, and so
    ~1 m off horizontally; two fixed-point steps remove that.)"""
    e, n, h = (float(v) for v in np.asarray(z_enu, float))
    up = 0.0
    for _ in range(3):
        lat, lon, _a = pymap3d.enu2geodetic(e, n, up, geo.lat0, geo.lon0, 0.0)
        up = float(pymap3d.geodetic2enu(lat, lon, 0.0, geo.lat0, geo.lon0, 0.0)[2])
    return float(lat), float(lon), h


def location_to_enu(loc: Location, geo: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A ``Location`` → ENU (3,) and covariance (3, 3) in the frame ``geo``
    (``bastion.scenario.Frame``)."""
    cs = loc.coordinate_system
    if cs == LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M:
        scale = 1.0
    elif cs == LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M:
        scale = 180.0 / math.pi
    else:
        raise SapientError("bad_value", f"location coordinate_system {cs} unsupported "
                           "(lat/lon degrees or radians, metres)")
    if loc.datum not in (LocationDatum.LOCATION_DATUM_WGS84_E,
                         LocationDatum.LOCATION_DATUM_WGS84_G):
        raise SapientError("bad_value", f"location datum {loc.datum} unsupported (WGS84)")
    lat, lon = loc.y * scale, loc.x * scale
    h = loc.z if loc.HasField("z") else 0.0
    _finite("location", lat, lon, h)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and abs(h) <= 1e5):
        raise SapientError("bad_value", f"location ({lat}, {lon}, {h}) out of range")
    de, dn = _metres_per_rad(lat)
    to_rad = math.radians(scale)  # one coordinate unit in radians
    sx = loc.x_error * to_rad * de if loc.HasField("x_error") else DEFAULT_SIGMA_H_M
    sy = loc.y_error * to_rad * dn if loc.HasField("y_error") else DEFAULT_SIGMA_H_M
    sz = loc.z_error if loc.HasField("z_error") else (
        DEFAULT_SIGMA_V_M if loc.HasField("z") else 1_000.0)  # ASSUMED: no height, ±1 km
    _finite("location error", sx, sy, sz)
    if min(sx, sy, sz) <= 0.0 or max(sx, sy, sz) > 1e6:
        raise SapientError("bad_value", f"location errors ({sx}, {sy}, {sz}) m not in (0, 1e6]")
    z = np.asarray(geo.to_enu(lat, lon, h), float)
    return z, np.diag([sx * sx, sy * sy, sz * sz])


_RB_UNITS = {
    RangeBearingCoordinateSystem.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M: (math.pi / 180, 1.0),
    RangeBearingCoordinateSystem.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M: (1.0, 1.0),
    RangeBearingCoordinateSystem.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM: (math.pi / 180,
                                                                              1e3),
    RangeBearingCoordinateSystem.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM: (1.0, 1e3),
}


def range_bearing_to_enu(rb: RangeBearing, node_enu: NDArray[np.float64]
                         ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A ``RangeBearing`` from a node at ``node_enu`` → ENU (3,) and covariance (3, 3)."""
    units = _RB_UNITS.get(rb.coordinate_system)
    if units is None:
        raise SapientError("bad_value", f"range_bearing coordinate_system "
                           f"{rb.coordinate_system} unsupported")
    if rb.datum != RangeBearingDatum.RANGE_BEARING_DATUM_TRUE:
        raise SapientError("bad_value", f"range_bearing datum {rb.datum} unsupported "
                           "(true north only)")
    if not (rb.HasField("range") and rb.HasField("azimuth")):
        raise SapientError("missing_field", "detection_report.range_bearing.range/azimuth")
    ang, dist = units
    r, a = rb.range * dist, rb.azimuth * ang
    e = rb.elevation * ang if rb.HasField("elevation") else 0.0
    sr = rb.range_error * dist if rb.HasField("range_error") else DEFAULT_SIGMA_RANGE_M
    sa = rb.azimuth_error * ang if rb.HasField("azimuth_error") else DEFAULT_SIGMA_AZ_RAD
    se = rb.elevation_error * ang if rb.HasField("elevation_error") else DEFAULT_SIGMA_EL_RAD
    _finite("range_bearing", r, a, e, sr, sa, se)
    if not (0.0 <= r <= 1e6 and abs(e) <= math.pi / 2 and 0.0 <= sr <= 1e5
            and 0.0 <= sa <= math.pi and 0.0 <= se <= math.pi):
        raise SapientError("bad_value", f"range_bearing (r={r}, az={a}, el={e}, errors "
                           f"{sr}, {sa}, {se}) out of range")
    z, R = polar_to_enu(node_enu, [r], [a], [e], sr, sa, se)
    return z[0], R[0]


def report_to_detections(msg: SapientMessage, *, sensor: int,
                         node_enu: NDArray[np.float64], geo: Any,
                         epoch_ns: int) -> Detections:
    """A checked ``SapientMessage`` holding a DetectionReport → one Detections row from
    scenario sensor ``sensor`` at ``node_enu``; :class:`SapientError` on bad values."""
    rep = msg.detection_report
    which = rep.WhichOneof("location_oneof")
    if which == "location":
        z, R = location_to_enu(rep.location, geo)
    else:
        z, R = range_bearing_to_enu(rep.range_bearing, node_enu)
    ev = evidence_from_classification(_classes_of(rep))
    t_s = session_time_s(msg, epoch_ns)
    return Detections(np.array([t_s]), np.array([sensor], np.int64), z.reshape(1, 3),
                      R.reshape(1, 3, 3), ev.reshape(1, K), np.array([-1], np.int64),
                      np.array([0], np.int64))


# ---------------------------------------------------------------------------- the inverse
def polar_for(d_enu: NDArray[np.float64], sigma_az_rad: float, sigma_el_rad: float
              ) -> tuple[float, float, float]:
    """(range, azimuth, elevation) whose unbiased conversion (``polar_to_enu`` with these
    angle sigmas) gives back the offset ``d_enu`` from the sensor: the UCM inverted, so a
    simulated radar's converted report crosses the wire and comes back the same."""
    la = math.exp(-0.5 * sigma_az_rad ** 2)
    le = math.exp(-0.5 * sigma_el_rad ** 2)
    x, y, h = (float(v) for v in d_enu)
    rho = math.hypot(x, y)
    return (math.hypot(rho * la * le, h * le), math.atan2(x, y) % (2 * math.pi),
            math.atan2(h, rho * la))


def _report(node_id: str, t_ns: int, report_id: str, object_id: str) -> SapientMessage:
    msg = SapientMessage()
    rep = msg.detection_report
    rep.report_id = report_id
    rep.object_id = object_id
    return _stamp(msg, t_ns, node_id)


def detection_report_polar(node_id: str, t_ns: int, report_id: str, object_id: str,
                           z_enu: NDArray[np.float64], node_enu: NDArray[np.float64],
                           sigmas: tuple[float, float, float],
                           evidence: NDArray[np.float64] | None = None) -> SapientMessage:
    """A range/bearing DetectionReport (radians, metres, true north) for a report at
    ``z_enu`` from a node at ``node_enu`` with (range m, azimuth rad, elevation rad)
    sigmas."""
    msg = _report(node_id, t_ns, report_id, object_id)
    rb = msg.detection_report.range_bearing
    r, a, e = polar_for(np.asarray(z_enu, float) - np.asarray(node_enu, float),
                        sigmas[1], sigmas[2])
    rb.range, rb.azimuth, rb.elevation = r, a, e
    rb.range_error, rb.azimuth_error, rb.elevation_error = sigmas
    rb.coordinate_system = RangeBearingCoordinateSystem.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M
    rb.datum = RangeBearingDatum.RANGE_BEARING_DATUM_TRUE
    if evidence is not None:
        _set_classification(msg.detection_report, evidence)
    return msg


def detection_report_location(node_id: str, t_ns: int, report_id: str, object_id: str,
                              z_enu: NDArray[np.float64], R: NDArray[np.float64], geo: Any,
                              evidence: NDArray[np.float64] | None = None) -> SapientMessage:
    """A location DetectionReport (lat/lon degrees, height m) for a report at ``z_enu``
    with covariance ``R`` (its diagonal is sent: the ICD has no correlations)."""
    msg = _report(node_id, t_ns, report_id, object_id)
    loc = msg.detection_report.location
    lat, lon, h = ground_geodetic(geo, z_enu)
    de, dn = _metres_per_rad(lat)
    sd = np.sqrt(np.maximum(np.diagonal(np.asarray(R, float)), 0.0))
    loc.x, loc.y, loc.z = lon, lat, h
    loc.x_error = math.degrees(sd[0] / de)
    loc.y_error = math.degrees(sd[1] / dn)
    loc.z_error = float(sd[2])
    loc.coordinate_system = LocationCoordinateSystem.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    loc.datum = LocationDatum.LOCATION_DATUM_WGS84_E
    if evidence is not None:
        _set_classification(msg.detection_report, evidence)
    return msg


def content_kind(msg: SapientMessage) -> str:
    return str(msg.WhichOneof("content"))

