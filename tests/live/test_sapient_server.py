"""The SAPIENT server on real loopback sockets: registration, reports into the sink, every
kind of bad message answered with an Error and counted while the connection carries on,
effector tasking."""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from bastion.live import sapient as sp
from bastion.live.sapient_server import SapientServer
from bastion.scenario import Frame
from tests.conftest import small_scenario
from tests.live.sink import RecordingSink, wait_for

EPOCH = 1_800_000_000.0
EPOCH_NS = round(EPOCH * 1e9)


class Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.node_id = sp.node_uuid(name, "test")
        self.dec = sp.FrameDecoder()
        self.inbox: list[sp.GoodFrame | sp.BadFrame] = []

    async def open(self, port: int) -> Client:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        return self

    async def send(self, data: sp.SapientMessage | bytes) -> None:
        self.writer.write(data if isinstance(data, bytes) else sp.frame(data))
        await self.writer.drain()

    async def recv(self, timeout_s: float = 5.0) -> sp.GoodFrame:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), timeout_s)
            if not data:
                raise ConnectionError("closed")
            self.inbox += self.dec.feed(data)
        item = self.inbox.pop(0)
        assert isinstance(item, sp.GoodFrame), item
        return item

    async def register(self, kind: str = "radar") -> sp.SapientMessage:
        await self.send(sp.registration(self.node_id, self.name, kind, EPOCH_NS))
        return (await self.recv()).message

    def polar(self, t_s: float, r: float = 5_000.0, seq: int = 1) -> sp.SapientMessage:
        z = np.array([r, 0.0, 300.0])
        return sp.detection_report_polar(self.node_id, EPOCH_NS + round(t_s * 1e9),
                                         sp.ulid(1, seq), sp.ulid(2, seq), z,
                                         np.zeros(3), (10.0, 0.005, 0.009))

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


def run(body: Callable[[SapientServer, RecordingSink], Awaitable[Any]], **kw: Any) -> Any:
    async def main() -> Any:
        sink = RecordingSink(EPOCH)
        srv = SapientServer(small_scenario(), sink, **kw)
        host, port = await srv.start()
        assert host == "127.0.0.1" and port > 0
        try:
            return await body(srv, sink)
        finally:
            await srv.close()
    return asyncio.run(main())


def test_registration_detections_status_alert() -> None:
    sc = small_scenario()
    geo = Frame(sc.origin)
    radar_enu = geo.point(sc.sensors[0].position)

    async def body(srv: SapientServer, sink: RecordingSink) -> None:
        c = await Client("radar").open(srv.port)
        ack = await c.register()
        assert ack.registration_ack.acceptance
        # a polar report: relative to the radar's scenario position
        z = radar_enu + np.array([3_000.0, 4_000.0, 250.0])
        await c.send(sp.detection_report_polar(c.node_id, EPOCH_NS + 12_500_000_000,
                                               sp.ulid(1, 1), sp.ulid(1, 2), z, radar_enu,
                                               (10.0, math.radians(0.3), math.radians(0.5))))
        # a location report with evidence for "drone"
        z2 = np.array([-2_000.0, 1_500.0, 120.0])
        await c.send(sp.detection_report_location(c.node_id, EPOCH_NS + 13_000_000_000,
                                                  sp.ulid(1, 3), sp.ulid(1, 4), z2,
                                                  np.eye(3) * 25.0, geo,
                                                  np.log([0.8, 0.1, 0.1])))
        await c.send(sp.status_report(c.node_id, EPOCH_NS + 14_000_000_000, sp.ulid(1, 5),
                                      "degraded", 35.0, 35.001, 8.0))
        await c.send(sp.alert(c.node_id, EPOCH_NS + 15_000_000_000, sp.ulid(1, 6), "jam"))
        await wait_for(lambda: len(sink.alerts) == 1)
        (n1, d1), (n2, d2) = sink.dets
        assert n1 == n2 == "radar"
        assert d1.m == d2.m == 1 and d1.sensor[0] == d2.sensor[0] == 0
        assert d1.t_s[0] == pytest.approx(12.5) and d2.t_s[0] == pytest.approx(13.0)
        np.testing.assert_allclose(d1.z[0], z, atol=1e-6)
        np.testing.assert_allclose(d2.z[0], z2, atol=0.05)
        np.testing.assert_allclose(np.diag(d2.R[0]), [25.0] * 3, rtol=1e-6)
        assert np.all(np.linalg.eigvalsh(d1.R[0]) > 0)
        assert d1.truth[0] == -1 and d1.group[0] == 0
        assert not d1.evidence.any()
        ev = d2.evidence[0] - d2.evidence[0].max()
        np.testing.assert_allclose(ev, np.log([0.8, 0.1, 0.1]) - math.log(0.8), atol=1e-6)
        node, st = sink.status[0]
        assert node == "radar" and st["health"] == "degraded" and st["t_s"] == pytest.approx(14)
        assert st["lat"] == pytest.approx(35.0) and st["alt_m"] == pytest.approx(8.0)
        assert sink.alerts[0] == ("radar", "jam", pytest.approx(15.0))
        assert srv.counters["reports"] == 2 and srv.counters["bad_messages"] == 0
        await c.close()
        # the link dropping marks the node unknown
        await wait_for(lambda: sink.status[-1][1].get("connected") is False)

    run(body)


def test_unknown_registration_is_refused_and_counted() -> None:
    async def body(srv: SapientServer, sink: RecordingSink) -> None:
        c = await Client("not-a-sensor").open(srv.port)
        ack = await c.register()
        assert not ack.registration_ack.acceptance
        assert "unknown_node" in ack.registration_ack.ack_response_reason[0]
        assert srv.counters["unknown_node"] == 1 and srv.counters["bad_messages"] == 1
        await c.close()

    run(body)


def _bad_messages(c: Client) -> list[tuple[str, bytes]]:
    """(reason, bytes on the wire) of one message of each bad kind."""
    no_stamp = c.polar(1.0)
    no_stamp.ClearField("timestamp")
    no_location = c.polar(1.0)
    no_location.detection_report.ClearField("range_bearing")
    nan_range = c.polar(1.0)
    nan_range.detection_report.range_bearing.range = math.nan
    stranger = Client("radar-impostor").polar(1.0)
    far_future = c.polar(1.0)
    far_future.timestamp.seconds += 10**9
    ack = sp.registration_ack(c.node_id, EPOCH_NS, True)
    body = b"\xff\xff\xff\xff garbage"
    return [
        ("bad_length", struct.pack("<I", 0)),
        ("bad_protobuf", struct.pack("<I", len(body)) + body),
        ("missing_field", sp.frame(no_stamp)),
        ("missing_field", sp.frame(no_location)),
        ("bad_value", sp.frame(nan_range)),
        ("bad_value", sp.frame(far_future)),
        ("unknown_node", sp.frame(stranger)),
        ("unexpected", sp.frame(ack)),
    ]


def test_every_bad_message_gets_an_error_and_a_count_and_the_link_carries_on() -> None:
    async def body(srv: SapientServer, sink: RecordingSink) -> None:
        c = await Client("radar").open(srv.port)
        assert (await c.register()).registration_ack.acceptance
        bad = _bad_messages(c)
        for i, (reason, data) in enumerate(bad):
            await c.send(data)
            reply = (await c.recv()).message
            assert sp.content_kind(reply) == "error", reason
            assert reply.error.error_message[0].startswith(reason)
            assert srv.counters[reason] >= 1
            assert srv.counters["bad_messages"] == i + 1
            # the connection carries on: a good report right after arrives
            await c.send(c.polar(float(i), seq=i + 10))
            await wait_for(lambda i=i: len(sink.dets) == i + 1)
        assert sink.counters["bad_messages"] == len(bad)
        assert sum(srv.counters[r] for r in {r for r, _ in bad}) == len(bad)
        assert srv.counters["connections_closed"] == 0
        await c.close()

    run(body)


def test_oversized_length_closes_only_that_connection() -> None:
    async def body(srv: SapientServer, sink: RecordingSink) -> None:
        a = await Client("radar").open(srv.port)
        b = await Client("eo").open(srv.port)
        assert (await a.register()).registration_ack.acceptance
        assert (await b.register("eoir")).registration_ack.acceptance
        await a.send(struct.pack("<I", sp.MAX_FRAME_BYTES + 1) + b"x" * 16)
        reply = (await a.recv()).message
        assert reply.error.error_message[0].startswith("bad_length")
        with pytest.raises(ConnectionError):
            await a.recv()
        assert srv.counters["closed_bad_length"] == 1
        # the other connection is unaffected
        await b.send(b.polar(3.0))
        await wait_for(lambda: len(sink.dets) == 1)
        assert sink.dets[0][0] == "eo" and sink.dets[0][1].sensor[0] == 1
        # and the service still accepts new connections
        c = await Client("radar").open(srv.port)
        assert (await c.register()).registration_ack.acceptance
        for x in (b, c):
            await x.close()

    run(body)


def test_sink_refusal_is_answered_not_fatal() -> None:
    class Refusing(RecordingSink):
        def submit(self, dets: Any, *, node: str) -> None:
            raise ValueError("no")

    async def main() -> None:
        sink = Refusing(EPOCH)
        srv = SapientServer(small_scenario(), sink)
        await srv.start()
        c = await Client("radar").open(srv.port)
        await c.register()
        await c.send(c.polar(1.0))
        reply = (await c.recv()).message
        assert reply.error.error_message[0].startswith("rejected")
        await c.send(sp.alert(c.node_id, EPOCH_NS, "a", "still here"))
        await wait_for(lambda: len(sink.alerts) == 1)
        await c.close()
        await srv.close()

    asyncio.run(main())


def test_effector_tasking_and_ack() -> None:
    async def body(srv: SapientServer, sink: RecordingSink) -> None:
        gun = await Client("gun").open(srv.port)
        assert (await gun.register("gun")).registration_ack.acceptance
        assert srv.send_task("radar", 1, {}) is None  # not an effector / not connected
        tid = srv.send_task("gun", 7, {"id": 3, "lat": 35.01, "lon": 35.02, "alt_m": 300.0})
        assert tid is not None
        msg = (await gun.recv()).message
        assert sp.content_kind(msg) == "task" and msg.task.task_id == tid
        assert msg.destination_id == gun.node_id
        loc = msg.task.command.look_at.location_list.locations[0]
        assert (loc.y, loc.x, loc.z) == (35.01, 35.02, 300.0)
        await gun.send(sp.task_ack(gun.node_id, EPOCH_NS, tid))
        await wait_for(lambda: bool(sink.acks))
        assert sink.acks == [("gun", 7, "accepted")]
        assert srv.task_status(tid) == "accepted"
        # an ack for a task never sent is a bad message
        await gun.send(sp.task_ack(gun.node_id, EPOCH_NS, "nope"))
        assert (await gun.recv()).message.error.error_message[0].startswith("bad_value")
        # a detection from an effector node is refused
        await gun.send(gun.polar(1.0))
        assert (await gun.recv()).message.error.error_message[0].startswith("unknown_node")
        await gun.close()

    run(body)


def test_registration_on_uvloop_the_loop_bastion_serve_runs_on() -> None:
    """uvicorn runs `bastion serve` on uvloop, whose transports are not asyncio.Transport
    subclasses: the server must take them (it once asserted they were, and refused every
    node of a real feed)."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop (uvicorn[standard]) not installed")

    async def main() -> None:
        srv = SapientServer(small_scenario(), RecordingSink(EPOCH))
        _, port = await srv.start()
        try:
            c = await Client("radar").open(port)
            ack = await c.register()
            assert ack.registration_ack.acceptance
            await c.close()
        finally:
            await srv.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
