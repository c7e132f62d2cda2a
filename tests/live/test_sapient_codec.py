"""The SAPIENT codec: framing, mandatory fields, the report ⇄ Detections conversion, and a
fuzz of the frame decoder and of a connection's handling of outside bytes."""

from __future__ import annotations

import asyncio
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.core.convert import polar_to_enu
from bastion.live import sapient as sp
from bastion.live.sapient_server import BAD_REASONS, SapientServer, _Connection
from bastion.scenario import Frame
from tests.conftest import small_scenario
from tests.live.sink import RecordingSink

SC = small_scenario()
GEO = Frame(SC.origin)
REASONS = {"bad_length", "bad_protobuf", "missing_field"}


def _good(i: int) -> sp.SapientMessage:
    return sp.detection_report_polar(sp.node_uuid("radar", "t"), 10**18 + i, sp.ulid(1, i),
                                     sp.ulid(2, i), np.array([1e3, 2e3, 100.0]), np.zeros(3),
                                     (10.0, 0.01, 0.01))


def test_frames_split_anywhere_decode_the_same() -> None:
    stream = b"".join(sp.frame(_good(i)) for i in range(5))
    for cut in range(len(stream)):
        dec = sp.FrameDecoder()
        got = dec.feed(stream[:cut]) + dec.feed(stream[cut:])
        assert [f.message.detection_report.report_id for f in got
                if isinstance(f, sp.GoodFrame)] == [sp.ulid(1, i) for i in range(5)]


def test_mandatory_fields_are_the_icds() -> None:
    msg = _good(1)
    assert sp.check_mandatory(msg) is None
    msg.detection_report.ClearField("object_id")
    assert sp.check_mandatory(msg) == "detection_report.object_id"
    msg = _good(1)
    msg.ClearField("node_id")
    assert sp.check_mandatory(msg) == "node_id"
    empty = sp.SapientMessage()
    empty.timestamp.seconds = 1
    empty.node_id = "x"
    assert sp.check_mandatory(empty) == "content"
    reg = sp.registration("n", "radar", "radar", 10**18)
    assert sp.check_mandatory(reg) is None
    del reg.registration.config_data[:]
    assert sp.check_mandatory(reg) == "registration.config_data"


@settings(max_examples=200, deadline=None)
@given(st.floats(-4e4, 4e4), st.floats(-4e4, 4e4), st.floats(-500.0, 5e3),
       st.floats(1e-4, 0.1), st.floats(1e-4, 0.1))
def test_ucm_inverse_round_trips(x: float, y: float, h: float, sa: float, se: float) -> None:
    d = np.array([x, y, h])
    if np.linalg.norm(d) < 1.0:
        return
    r, a, e = sp.polar_for(d, sa, se)
    z, _ = polar_to_enu(np.zeros(3), [r], [a], [e], 10.0, sa, se)
    np.testing.assert_allclose(z[0], d, atol=1e-6 * max(1.0, float(np.linalg.norm(d))))


@settings(max_examples=100, deadline=None)
@given(st.floats(-6e4, 6e4), st.floats(-6e4, 6e4), st.floats(0.0, 5e3), st.floats(1.0, 500.0))
def test_location_round_trips_within_a_metre(x: float, y: float, h: float, s: float) -> None:
    z = np.array([x, y, h])
    R = np.diag([s * s, 4 * s * s, 9.0])
    msg = sp.detection_report_location("n", 10**18, "r", "o", z, R, GEO)
    got, Rg = sp.location_to_enu(msg.detection_report.location, GEO)
    assert np.linalg.norm(got - z) < 1.0
    np.testing.assert_allclose(np.diag(Rg), np.diag(R), rtol=1e-3)


def test_evidence_mapping() -> None:
    # a full likelihood vector is read as it is (up to a constant)
    ev = sp.evidence_from_classification([("UAV", 0.9), ("Bird", 0.3), ("Aircraft", 0.1)])
    np.testing.assert_allclose(ev - ev[0], np.log([1.0, 1 / 3, 1 / 9]), atol=1e-12)
    # one class: the stated confusion row
    ev = sp.evidence_from_classification([("bird", 0.6)])
    np.testing.assert_allclose(np.exp(ev), [0.2, 0.6, 0.2])
    ev = sp.evidence_from_classification([("Drone", None)])
    np.testing.assert_allclose(np.exp(ev), [0.7, 0.15, 0.15])
    assert not sp.evidence_from_classification([("Human", 0.9)]).any()
    with pytest.raises(sp.SapientError):
        sp.evidence_from_classification([("UAV", 1.5)])


def test_report_to_detections_time_and_sensor() -> None:
    msg = _good(0)
    msg.timestamp.seconds, msg.timestamp.nanos = 1_000, 250_000_000
    det = sp.report_to_detections(msg, sensor=4, node_enu=np.zeros(3), geo=GEO,
                                  epoch_ns=990 * 10**9)
    assert det.t_s[0] == 10.25 and det.sensor[0] == 4 and det.m == 1


def test_unsupported_units_are_bad_values() -> None:
    msg = _good(0)
    msg.detection_report.range_bearing.datum = sp.RangeBearingDatum.RANGE_BEARING_DATUM_MAGNETIC
    with pytest.raises(sp.SapientError, match="bad_value"):
        sp.report_to_detections(msg, sensor=0, node_enu=np.zeros(3), geo=GEO, epoch_ns=0)


def test_ulid_is_26_crockford_characters_ordered_by_time() -> None:
    a, b = sp.ulid(1_700_000_000_000, 5), sp.ulid(1_700_000_000_001, 0)
    assert len(a) == 26 and a < b and set(a) <= set(sp._CROCKFORD)


# ---------------------------------------------------------------------------- fuzz
@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_fuzz_decoder_random_bytes(chunks: list[bytes]) -> None:
    dec = sp.FrameDecoder(max_bytes=4096)
    for c in chunks:
        for item in dec.feed(c):
            if isinstance(item, sp.BadFrame):
                assert item.reason in REASONS
            else:
                assert sp.check_mandatory(item.message) is None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_decoder_mutated_frames_every_frame_accounted(data: Any) -> None:
    """Mutate message bodies (not their lengths): every frame comes out, good or bad."""
    n = data.draw(st.integers(1, 6))
    bodies = []
    for i in range(n):
        body = bytearray(_good(i).SerializeToString())
        for _ in range(data.draw(st.integers(0, 4))):
            j = data.draw(st.integers(0, len(body) - 1))
            body[j] = data.draw(st.integers(0, 255))
        bodies.append(bytes(body))
    stream = b"".join(struct.pack("<I", len(b)) + b for b in bodies)
    dec = sp.FrameDecoder()
    out: list[Any] = []
    step = data.draw(st.integers(1, 64))
    for k in range(0, len(stream), step):
        out += dec.feed(stream[k:k + step])
    assert len(out) == n
    assert all(o.reason in REASONS for o in out if isinstance(o, sp.BadFrame))


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def write(self, data: Any) -> None:
        self.out += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=200),
                          st.integers(0, 6).map(lambda i: sp.frame(_good(i)))), max_size=10))
def test_fuzz_connection_never_raises_and_answers_every_bad_message(parts: list[bytes]) -> None:
    sink = RecordingSink(1e9)
    srv = SapientServer(SC, sink, epoch_utc=1e9)  # the good frames are stamped 1e18 ns
    conn = _Connection(srv)
    tr = _Transport()
    conn.connection_made(tr)
    conn.data_received(sp.frame(sp.registration(sp.node_uuid("radar", "t"), "radar", "radar",
                                                10**18)))
    for p in parts:
        conn.data_received(p)
    replies = [f.message for f in sp.FrameDecoder().feed(bytes(tr.out))
               if isinstance(f, sp.GoodFrame)]
    errors = [m for m in replies if sp.content_kind(m) == "error"]
    assert len(errors) == srv.counters["bad_messages"]
    assert srv.counters["bad_messages"] == sum(srv.counters[r] for r in BAD_REASONS)
    assert srv.counters["reports"] == sum(d.m for _, d in sink.dets)
    assert tr.closed == (srv.counters["closed_bad_length"] == 1)
    assert math.isfinite(sum(float(d.z.sum()) for _, d in sink.dets))


def test_good_frames_after_garbage_free_bytes_are_accepted() -> None:
    """The fuzz above is not vacuous: good frames on their own all come through."""
    sink = RecordingSink(1e9)
    srv = SapientServer(SC, sink, epoch_utc=1e9)
    conn = _Connection(srv)
    conn.connection_made(_Transport())
    conn.data_received(sp.frame(sp.registration(sp.node_uuid("radar", "t"), "radar", "radar",
                                                10**18)))
    for i in range(5):
        conn.data_received(sp.frame(_good(i)))
    assert srv.counters["reports"] == 5 and srv.counters["bad_messages"] == 0
