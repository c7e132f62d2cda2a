"""``bastion feed``: the simulator plays a scenario's sensors as SAPIENT nodes.

One replication is simulated with its sensor reports kept (``simulate(detections=True)``);
every scenario sensor then becomes a SAPIENT node on its own TCP connection (registration
first, a status report with its position, then one every ``status_period_s`` of simulated
time) and sends each of its reports when the simulator delivered it, at wall-clock pace ×
``speed``. Report timestamps are the session epoch + the simulated time, so what a receiver
timing reports by their own time makes of them does not depend on the speed. Effectors
register as effector nodes and acknowledge every Task they are sent.

Radar reports go as range/bearing (the unbiased conversion inverted, so they come back as
the simulator's converted reports); the others as locations with their accuracy. With an
ASTERIX address, radar reports go there as CAT048 plots over UDP instead.

Quiet time is skipped (``skip_quiet_s``, on by default): when the next report is due more
than that much simulated time ahead (the raid still far out, nothing in coverage), the play
jumps straight to it instead of sleeping through the gap at ×speed. Only the wall-clock
pacing changes: every report keeps its timestamp (epoch + simulated time) and its place in
the send order, so a receiver timing reports by their own time — the live driver's
event-time clock, ``max(report time seen, wall - epoch) - wait`` — makes the same
decisions. (While no report comes the driver's clock does not move at ×20 either: the wall
term is far behind the report times; the first report after the gap moves it to the same
time in both cases, and the stages step through the gap then. No report can become late
through a jump, since a jump only shortens waits *before* a report and never reorders.)
Status reports keep their schedule in simulated time during the play (one round every
``status_period_s``); the rounds that fall in a skipped gap are collapsed into one, sent
at the landing, so a jump never bursts hundreds of them.
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bastion.core.detections import Detections
from bastion.live import asterix as ax
from bastion.live import sapient as sp
from bastion.live.driver import epoch_grid_s
from bastion.scenario.geo import Frame
from bastion.scenario.schema import Radar, Scenario
from bastion.sim.engine import simulate

__all__ = ["QUIET_S", "FeedError", "FeedPlan", "FeedStats", "plan", "play"]

# ASSUMED: a gap of more than 5 simulated seconds with no report is "quiet" and jumped over
# (at ×20 that is 0.25 s of wall time: shorter gaps are not worth a jump, and a watcher
# still sees the picture move at the chosen speed whenever anything is reported)
QUIET_S = 5.0


class FeedError(RuntimeError):
    """The receiver could not be reached or refused a node (one line for the CLI)."""


@dataclass
class FeedPlan:
    scenario: Scenario
    replication: int
    detections: Detections  # every report, in delivery order
    delivered_s: np.ndarray  # simulated time each is sent at
    t_end_s: float


@dataclass
class FeedStats:
    reports: int = 0
    asterix_plots: int = 0
    status_reports: int = 0
    registrations: int = 0
    tasks_acked: int = 0
    errors: int = 0
    error_texts: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    skipped_s: float = 0.0  # simulated seconds of quiet time jumped over
    skips: int = 0
    epoch_utc: float = 0.0  # the reports' timestamps are this + simulated time


def plan(scenario: Scenario, replication: int = 0, seed: int | None = None) -> FeedPlan:
    """Simulate one replication and keep what its sensors reported."""
    r = simulate(scenario, replication, seed=seed, detections=True)
    assert r.detections is not None and r.delivered_s is not None
    return FeedPlan(scenario, replication, r.detections, r.delivered_s, r.t_end_s)


class _Node:
    """One node's TCP connection: writes frames, reads acks, tasks and errors."""

    def __init__(self, name: str, kind: str, stats: FeedStats, session: str) -> None:
        self.name, self.kind, self.stats = name, kind, stats
        self.node_id = sp.node_uuid(name, session)
        self.ack: asyncio.Future[bool] | None = None
        self.seq = 0

    async def open(self, host: str, port: int) -> None:
        try:
            self.reader, self.writer = await asyncio.open_connection(host, port)
        except OSError as e:
            raise FeedError(f"cannot connect to {host}:{port}: {e.strerror or e}") from None
        self.reader_task = asyncio.create_task(self._read())

    def next_id(self, t_ns: int) -> str:
        self.seq += 1
        return sp.ulid(t_ns // 1_000_000, self.seq)

    def send(self, msg: sp.SapientMessage) -> None:
        self.writer.write(sp.frame(msg))

    async def register(self, t_ns: int, timeout_s: float) -> None:
        self.ack = asyncio.get_running_loop().create_future()
        self.send(sp.registration(self.node_id, self.name, self.kind, t_ns))
        await self.writer.drain()
        try:
            ok = await asyncio.wait_for(self.ack, timeout_s)
        except TimeoutError:
            raise FeedError(f"node {self.name}: no RegistrationAck in {timeout_s:g} s") from None
        if not ok:
            raise FeedError(f"node {self.name}: registration refused "
                            f"({'; '.join(self.refusal) or 'no reason given'})")
        self.stats.registrations += 1

    async def _read(self) -> None:
        dec = sp.FrameDecoder()
        self.refusal: list[str] = []
        while True:
            try:
                data = await self.reader.read(65536)
            except OSError:
                data = b""
            if not data:
                if self.ack is not None and not self.ack.done():
                    self.ack.set_exception(FeedError(f"node {self.name}: connection closed"))
                return
            for f in dec.feed(data):
                if not isinstance(f, sp.GoodFrame):
                    continue
                msg = f.message
                kind = sp.content_kind(msg)
                if kind == "registration_ack" and self.ack is not None and not self.ack.done():
                    self.refusal = list(msg.registration_ack.ack_response_reason)
                    self.ack.set_result(bool(msg.registration_ack.acceptance))
                elif kind == "task":
                    t_ns = time.time_ns()
                    self.send(sp.task_ack(self.node_id, t_ns, msg.task.task_id, True))
                    self.stats.tasks_acked += 1
                elif kind == "error":
                    self.stats.errors += 1
                    if len(self.stats.error_texts) < 10:
                        self.stats.error_texts.append(
                            f"{self.name}: {'; '.join(msg.error.error_message)}")

    async def close(self) -> None:
        self.reader_task.cancel()
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


async def play(p: FeedPlan, host: str, port: int, *, speed: float = 1.0,
               epoch_utc: float | None = None, status_period_s: float = 5.0,
               asterix_to: tuple[str, int] | None = None, register_timeout_s: float = 10.0,
               skip_quiet_s: float | None = QUIET_S,
               progress: Callable[[int], None] | None = None) -> FeedStats:
    """Play ``p`` into the SAPIENT server at host:port at ×``speed``; gaps of more than
    ``skip_quiet_s`` simulated seconds without a report are jumped over (None: never)."""
    if not (speed > 0 and math.isfinite(speed)):
        raise FeedError(f"--speed {speed}: must be a positive number")
    if skip_quiet_s is not None and not (skip_quiet_s >= 0 and math.isfinite(skip_quiet_s)):
        raise FeedError(f"skip_quiet_s {skip_quiet_s}: must be a number >= 0")
    sc = p.scenario
    geo = Frame(sc.origin)
    stats = FeedStats()
    if epoch_utc is None:
        # on the driver's epoch grid, at or after now (reports never behind the wall clock)
        g = epoch_grid_s(sc)
        epoch_utc = math.ceil(time.time() / g) * g
    epoch_ns = round(epoch_utc * 1e9)
    stats.epoch_utc = epoch_utc
    session = f"feed-{sc.name}-{p.replication}"
    sensors = [_Node(s.name, s.kind, stats, session) for s in sc.sensors]
    effectors = [_Node(e.name, e.kind, stats, session) for e in sc.effectors]
    pos = [geo.point(s.position) for s in sc.sensors]
    sigmas = [(s.sigma_range_m, math.radians(s.sigma_azimuth_deg),
               math.radians(s.sigma_elevation_deg)) if isinstance(s, Radar) else None
              for s in sc.sensors]
    udp: socket.socket | None = None
    sac_sic = ax.default_sac_sic(sc)
    if asterix_to is not None:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nodes = sensors + effectors
    try:
        for n in nodes:
            await n.open(host, port)
        for n in nodes:
            await n.register(epoch_ns, register_timeout_s)
        det, when = p.detections, p.delivered_s
        # status reports: one at the start, then every status_period_s, interleaved
        n_status = int(p.t_end_s // status_period_s) + 1
        status_t = np.arange(n_status) * status_period_s
        w0 = time.monotonic()
        k = 0  # next status epoch
        sent = 0
        skipped = 0.0  # simulated seconds jumped over so far

        def send_status(t: float) -> None:
            t_ns = epoch_ns + round(t * 1e9)
            for i, n in enumerate(sensors):
                s = sc.sensors[i]
                n.send(sp.status_report(n.node_id, t_ns, n.next_id(t_ns), "ok",
                                        s.position.lat_deg, s.position.lon_deg,
                                        s.position.height_m))
                stats.status_reports += 1

        for i in range(det.m):
            t_send = float(when[i])
            if skip_quiet_s is not None:
                # where the play is now, in simulated time; a long quiet gap ahead is cut
                sim_now = max((time.monotonic() - w0) * speed + skipped, 0.0)
                if t_send - sim_now > skip_quiet_s:
                    skipped += t_send - sim_now
                    stats.skipped_s += t_send - sim_now
                    stats.skips += 1
                    last = int(np.searchsorted(status_t, t_send, side="right")) - 1
                    k = max(k, last)  # the skipped rounds collapse into the latest one
            while k < n_status and status_t[k] <= t_send:
                send_status(float(status_t[k]))
                k += 1
            delay = w0 + (t_send - skipped) / speed - time.monotonic()
            if delay > 0:
                for n in nodes:
                    await n.writer.drain()
                await asyncio.sleep(delay)
            j = int(det.sensor[i])
            node = sensors[j]
            t_ns = epoch_ns + round(float(det.t_s[i]) * 1e9)
            if sigmas[j] is not None and udp is not None and asterix_to is not None:
                sac, sic = sac_sic[sc.sensors[j].name]
                udp.sendto(ax.encode_plot(sac, sic, det.z[i], pos[j], t_ns / 1e9,
                                          sigmas[j][1], sigmas[j][2]), asterix_to)
                stats.asterix_plots += 1
                # UDP has no flow control: let a receiver (maybe on this loop) keep up
                await asyncio.sleep(0)
            elif sigmas[j] is not None:
                node.send(sp.detection_report_polar(node.node_id, t_ns, node.next_id(t_ns),
                                                    node.next_id(t_ns), det.z[i], pos[j],
                                                    sigmas[j], det.evidence[i]))
                stats.reports += 1
            else:
                node.send(sp.detection_report_location(
                    node.node_id, t_ns, node.next_id(t_ns), node.next_id(t_ns), det.z[i],
                    det.R[i], geo, det.evidence[i]))
                stats.reports += 1
            sent += 1
            if progress is not None and sent % 100 == 0:
                progress(100)
        if progress is not None:
            progress(sent % 100)
        for n in nodes:
            await n.writer.drain()
        # give the receiver a moment to answer the last reports (errors, tasks)
        await asyncio.sleep(0.2)
    finally:
        stats.wall_s = time.monotonic() - w0 if "w0" in locals() else 0.0
        for n in nodes:
            if hasattr(n, "writer"):
                await n.close()
        if udp is not None:
            udp.close()
    return stats


def parse_address(text: str, option: str) -> tuple[str, int]:
    """HOST:PORT → (host, port); ValueError with a one-line reason."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:7000")
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"{option} {text!r}: port {port!r} is not a number") from None
    if not 0 < p < 65536:
        raise ValueError(f"{option} {text!r}: port {p} not in 1..65535")
    return host.strip("[]"), p
