"""SAPIENT over TCP: nodes register, report status, detections and alerts; effectors are
tasked (docs/live.md, "Feeds").

One asyncio server, one protocol object per connection. Every frame is handled in order as
it arrives; a bad one gets an ``Error`` reply and is counted (``counters["bad_messages"]``
and one counter per reason) and the connection carries on. Only a frame length beyond the
maximum (the stream cannot be resynchronised) closes that one connection, counted.

The ``sink`` is anything with the LiveDriver's feed methods: ``submit(dets, node=...)``,
``node_status(node, status)``, ``alert(node, text, t_s)`` (and optionally
``task_ack(node, engagement, status)``). Nodes are named to the sink by their registered
name, which must be a scenario sensor or effector name.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from bastion.live import sapient as sp
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Scenario

__all__ = ["BAD_REASONS", "NodeInfo", "SapientServer"]

log = logging.getLogger(__name__)

# Reasons a message is refused, each its own counter (their sum is "bad_messages").
BAD_REASONS = ("bad_length", "bad_protobuf", "missing_field", "unknown_node", "bad_value",
               "unexpected", "rejected")


@dataclass
class NodeInfo:
    node_id: str
    name: str
    kind: str
    sensor: int  # scenario sensor index, or -1 for an effector
    effector: int  # scenario effector index, or -1 for a sensor
    enu: NDArray[np.float64]  # its position: the scenario's, or its last reported location
    conn: _Connection | None = None
    health: str = "unknown"


@dataclass
class _Task:
    node: str
    engagement: int
    status: str = "sent"


class _Connection(asyncio.Protocol):
    def __init__(self, server: SapientServer) -> None:
        self.server = server
        self.decoder = sp.FrameDecoder(server.max_frame_bytes)
        self.transport: asyncio.Transport | None = None
        self.nodes: set[str] = set()  # node ids registered on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport; not asserted as asyncio.Transport: uvloop's (the loop uvicorn
        # runs `bastion serve` on) are not subclasses of it
        self.transport = cast(asyncio.Transport, transport)
        self.server._count("connections")
        self.server._conns.add(self)

    def data_received(self, data: bytes) -> None:
        srv = self.server
        for item in self.decoder.feed(data):
            if isinstance(item, sp.BadFrame):
                srv._bad(self, item.reason, item.detail, item.raw, None)
                if item.fatal:
                    srv._count("closed_bad_length")
                    if self.transport is not None:
                        self.transport.close()
                    return
                continue
            try:
                srv._handle(self, item)
            except sp.SapientError as e:
                srv._bad(self, e.reason, e.detail, item.raw, item.message.node_id)
            except Exception as e:  # the sink refused it: this message only, never the link
                log.exception("sink refused a SAPIENT message")
                srv._bad(self, "rejected", f"{type(e).__name__}: {e}", item.raw,
                         item.message.node_id)

    def send(self, msg: sp.SapientMessage) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(sp.frame(msg))

    def connection_lost(self, exc: Exception | None) -> None:
        srv = self.server
        srv._conns.discard(self)
        srv._count("connections_closed")
        for nid in self.nodes:
            node = srv.nodes.get(nid)
            if node is not None and node.conn is self:
                node.conn = None
                node.health = "unknown"
                try:
                    srv.sink.node_status(node.name, {"health": "unknown", "connected": False})
                except Exception:  # a closing link must not raise into the event loop
                    log.exception("sink refused a node's disconnection")


class SapientServer:
    """SAPIENT fusion-node side over TCP (bind 127.0.0.1 by default; port 0 = ephemeral).

    ``epoch_utc`` (UTC seconds) is the session epoch reports are timed against; by default
    the sink's ``epoch_utc``, else the clock when the server is made.
    """

    def __init__(self, scenario: Scenario, sink: Any, *, host: str = "127.0.0.1",
                 port: int = 0, epoch_utc: float | None = None,
                 max_frame_bytes: int = sp.MAX_FRAME_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.scenario = scenario
        self.sink = sink
        self.host, self.port = host, port
        self.clock = clock
        if epoch_utc is None:
            epoch_utc = getattr(sink, "epoch_utc", None)
        self.epoch_utc = float(clock() if epoch_utc is None else epoch_utc)
        self.epoch_ns = round(self.epoch_utc * 1e9)
        self.max_frame_bytes = max_frame_bytes
        self.geo = Frame(scenario.origin)
        self.node_id = sp.node_uuid("fusion-node")
        self.counters: dict[str, int] = {k: 0 for k in (
            "connections", "connections_closed", "closed_bad_length", "registrations",
            "reports", "status_reports", "alerts", "tasks", "task_acks", "errors_received",
            "bad_messages", *BAD_REASONS)}
        self.nodes: dict[str, NodeInfo] = {}  # by node id
        self.by_name: dict[str, str] = {}  # registered name -> node id
        self.tasks: dict[str, _Task] = {}  # by task id
        self._names: dict[str, tuple[str, int, int, NDArray[np.float64]]] = {}
        for i, s in enumerate(scenario.sensors):
            self._names[s.name] = (s.kind, i, -1, self.geo.point(s.position))
        for j, e in enumerate(scenario.effectors):
            self._names[e.name] = (e.kind, -1, j, self.geo.point(e.position))
        self._conns: set[_Connection] = set()
        # load the compiled polar conversion now, not on the first report (~0.3 s)
        sp.range_bearing_to_enu(sp.RangeBearing(
            range=1.0, azimuth=0.0, coordinate_system=1, datum=1), np.zeros(3))
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._seq = itertools.count(1)  # next() is atomic: tasks come from the step thread

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> tuple[str, int]:
        self._loop = loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host,
                                                self.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = port
        return host, port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self._conns):
                if c.transport is not None:
                    c.transport.close()
            await self._server.wait_closed()
            self._server = None

    # ------------------------------------------------------------------ helpers
    def _count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def _now_ns(self) -> int:
        return round(self.clock() * 1e9)

    def _next_id(self) -> str:
        return sp.ulid(self._now_ns() // 1_000_000, next(self._seq))

    def _t_s(self, msg: sp.SapientMessage) -> float:
        return sp.session_time_s(msg, self.epoch_ns)

    def _bad(self, conn: _Connection, reason: str, detail: str, raw: bytes,
             sender: str | None) -> None:
        """Count a refused message and reply with an Error naming the reason."""
        self._count("bad_messages")
        self._count(reason)
        sink_counters = getattr(self.sink, "counters", None)
        if isinstance(sink_counters, dict):
            sink_counters["bad_messages"] = sink_counters.get("bad_messages", 0) + 1
        reply = sp.error(self.node_id, self._now_ns(), raw[:4096], f"{reason}: {detail}")
        if sender:
            reply.destination_id = sender
        conn.send(reply)

    # ------------------------------------------------------------------ messages
    def _handle(self, conn: _Connection, item: sp.GoodFrame) -> None:
        msg = item.message
        kind = sp.content_kind(msg)
        if kind == "registration":
            self._register(conn, msg)
            return
        if kind == "error":  # a node's complaint: counted, never answered (no ping-pong)
            self._count("errors_received")
            return
        if kind == "alert_ack":
            return
        if kind not in ("status_report", "detection_report", "alert", "task_ack"):
            raise sp.SapientError("unexpected", f"{kind} is not sent to a fusion node")
        node = self.nodes.get(msg.node_id)
        if node is None:
            raise sp.SapientError("unknown_node", f"node {msg.node_id!r} has not registered")
        if node.conn is not conn:  # it registered on another (or a closed) connection
            node.conn = conn
            conn.nodes.add(node.node_id)
        if kind == "detection_report":
            if node.sensor < 0:
                raise sp.SapientError("unknown_node", f"{node.name} is not a sensor")
            dets = sp.report_to_detections(msg, sensor=node.sensor, node_enu=node.enu,
                                           geo=self.geo, epoch_ns=self.epoch_ns)
            self.sink.submit(dets, node=node.name)
            self._count("reports")
        elif kind == "status_report":
            self._status(node, msg)
        elif kind == "alert":
            a = msg.alert
            text = a.description or sp.Alert.AlertType.Name(a.alert_type)
            self.sink.alert(node.name, text, self._t_s(msg))
            self._count("alerts")
        else:  # task_ack
            ack = msg.task_ack
            t = self.tasks.get(ack.task_id)
            if t is None or t.node != node.name:
                raise sp.SapientError("bad_value", f"task_ack for unknown task {ack.task_id!r}")
            t.status = {1: "accepted", 2: "rejected", 3: "completed", 4: "failed"}.get(
                ack.task_status, "unknown")
            self._count("task_acks")
            hook = getattr(self.sink, "task_ack", None)
            if callable(hook):
                hook(node.name, t.engagement, t.status)

    def _register(self, conn: _Connection, msg: sp.SapientMessage) -> None:
        name = msg.registration.name
        known = self._names.get(name)
        if known is None:
            self._count("bad_messages")
            self._count("unknown_node")
            conn.send(sp.registration_ack(self.node_id, self._now_ns(), False,
                                          [f"unknown_node: {name!r} is not a sensor or "
                                           "effector of this site"]))
            return
        kind, s_idx, e_idx, enu = known
        old = self.by_name.get(name)
        if old is not None and old != msg.node_id:
            self.nodes.pop(old, None)
        self.nodes[msg.node_id] = NodeInfo(msg.node_id, name, kind, s_idx, e_idx, enu.copy(),
                                           conn)
        self.by_name[name] = msg.node_id
        conn.nodes.add(msg.node_id)
        self._count("registrations")
        ack = sp.registration_ack(self.node_id, self._now_ns(), True)
        ack.destination_id = msg.node_id
        conn.send(ack)

    def _status(self, node: NodeInfo, msg: sp.SapientMessage) -> None:
        st = msg.status_report
        status: dict[str, Any] = {"health": sp.health_of(msg), "mode": st.mode,
                                  "t_s": self._t_s(msg), "connected": True}
        if st.system == sp.StatusReport.SYSTEM_GOODBYE:
            status["health"] = "unknown"
            status["connected"] = False
        if st.HasField("node_location"):
            enu, _ = sp.location_to_enu(st.node_location, self.geo)
            node.enu = enu
            lat, lon, h = sp.ground_geodetic(self.geo, enu)
            status.update(lat=lat, lon=lon, alt_m=h)
        node.health = status["health"]
        self.sink.node_status(node.name, status)
        self._count("status_reports")

    # ------------------------------------------------------------------ tasking
    def send_task(self, effector: str, engagement_id: int, track: dict[str, Any]) -> str | None:
        """Task effector node ``effector`` (its registered name) to engage: a SAPIENT
        ``Task`` (START, look at the track's position) on that node's connection. Returns
        the task id, or None when the node is not connected. From the server's loop or
        another thread (the service steps its driver in a worker thread): the bytes are
        written on the loop, in the order the tasks were made."""
        nid = self.by_name.get(effector)
        node = self.nodes.get(nid) if nid else None
        if node is None or node.conn is None or node.effector < 0:
            return None
        task_id = self._next_id()
        # the driver's fire summary names its aim point aim_lat/aim_lon/aim_alt_m
        lat, lon, alt = (track.get(k, track.get(f"aim_{k}")) for k in ("lat", "lon", "alt_m"))
        ok = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lat, lon))
        what = track.get("id", track.get("track", "?"))
        desc = f"engage track {what} (engagement {engagement_id})"
        msg = sp.task(self.node_id, node.node_id, self._now_ns(), task_id,
                      f"engage {engagement_id}", desc,
                      float(lat) if ok else None, float(lon) if ok else None,  # type: ignore[arg-type]
                      float(alt) if ok and isinstance(alt, (int, float)) else 0.0)
        self.tasks[task_id] = _Task(effector, engagement_id)
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop or self._loop is None:
            node.conn.send(msg)
        else:  # transports are not thread-safe
            self._loop.call_soon_threadsafe(node.conn.send, msg)
        self._count("tasks")
        return task_id

    def task_status(self, task_id: str) -> str | None:
        t = self.tasks.get(task_id)
        return None if t is None else t.status



async def serve(sink: Any, host: str, port: int) -> None:
    """Run a SAPIENT server for ``sink`` (a LiveDriver: its scenario, epoch and tasker) until
    cancelled — the form ``bastion serve`` starts its feeds in. Approved engagements task
    the effector nodes: the driver's tasker becomes this server's ``send_task``."""
    server = SapientServer(sink.sc, sink, host=host, port=port)
    await server.start()
    if hasattr(sink, "tasker"):
        sink.tasker = server.send_task
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()
