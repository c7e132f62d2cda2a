"""Load on the SAPIENT server: N simulated nodes × R reports/s for D seconds over loopback.

    python bench/live_load.py [--nodes 100] [--rate 10] [--duration 60]

The server runs in its own process with a sink that timestamps each report's arrival; the
nodes (one TCP connection each, registered first) run in this process, each sending range/
bearing DetectionReports stamped with the time they are written. Reported: reports sent
and received (lost = the difference), p50/p99 report → sink latency (arrival clock minus the
report's timestamp; one machine, one clock), and the server process's CPU time
(``time.process_time``) over the load window, as CPU seconds per second per 1,000
reports/s (i.e. cores busy at that rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import sys
import time
from typing import Any

import numpy as np

from bastion.core.detections import Detections
from bastion.live import sapient as sp
from bastion.live.sapient_server import SapientServer
from bastion.scenario import Frame, Scenario, load_scenario


def scenario(nodes: int) -> Scenario:
    """khmeimim-2018 with its first radar copied ``nodes`` times under distinct names."""
    sc = load_scenario("khmeimim-2018")
    radar = next(s for s in sc.sensors if s.kind == "radar")
    return sc.model_copy(update={"sensors": [radar.model_copy(update={"name": f"node-{i}"})
                                             for i in range(nodes)]})


class TimingSink:
    def __init__(self, epoch_utc: float) -> None:
        self.epoch_utc = epoch_utc
        self.latency_s: list[float] = []
        self.counters: dict[str, int] = {"bad_messages": 0}

    def submit(self, dets: Detections, *, node: str) -> None:
        now = time.time() - self.epoch_utc
        self.latency_s.append(now - float(dets.t_s[0]))

    def node_status(self, node: str, status: dict[str, Any]) -> None:
        pass

    def alert(self, node: str, text: str, t_s: float) -> None:
        pass


def server_main(nodes: int, epoch: float, ready: Any, go: Any, stop: Any, out: Any) -> None:
    async def run() -> None:
        sink = TimingSink(epoch)
        srv = SapientServer(scenario(nodes), sink, epoch_utc=epoch)
        _, port = await srv.start()
        ready.put(port)
        while not go.is_set():
            await asyncio.sleep(0.01)
        cpu0, wall0 = time.process_time(), time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
        cpu1, wall1 = time.process_time(), time.monotonic()
        await srv.close()
        out.put({"received": len(sink.latency_s), "latency_s": sink.latency_s,
                 "cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0,
                 "bad_messages": srv.counters["bad_messages"]})

    asyncio.run(run())


async def clients(port: int, nodes: int, rate: float, duration_s: float, sc: Scenario,
                  go: Any) -> tuple[int, float]:
    geo = Frame(sc.origin)
    radar = geo.point(sc.sensors[0].position)
    conns = []
    for i in range(nodes):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        nid = sp.node_uuid(f"node-{i}", "bench")
        w.write(sp.frame(sp.registration(nid, f"node-{i}", "radar", time.time_ns())))
        conns.append((r, w, nid))
    dec = sp.FrameDecoder()
    for r, _, _ in conns:  # every node registered before the load starts
        got = dec.feed(await r.read(4096))
        assert got and isinstance(got[0], sp.GoodFrame) and \
            got[0].message.registration_ack.acceptance
    sent = 0
    period = 1.0 / rate
    t0 = time.monotonic()
    go.set()

    async def node(k: int) -> None:
        nonlocal sent
        _, w, nid = conns[k]
        z = radar + np.array([5_000.0 + 10 * k, 2_000.0, 300.0])
        n = 0
        start = t0 + period * k / nodes  # stagger the nodes across the period
        while True:
            due = start + n * period
            if due - t0 >= duration_s:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            t_ns = time.time_ns()
            w.write(sp.frame(sp.detection_report_polar(
                nid, t_ns, sp.ulid(t_ns // 1_000_000, 2 * n), sp.ulid(t_ns // 1_000_000,
                                                                     2 * n + 1),
                z, radar, (10.0, 0.005, 0.009))))
            sent += 1
            n += 1

    await asyncio.gather(*(node(k) for k in range(nodes)))
    for _, w, _ in conns:
        await w.drain()
    elapsed = time.monotonic() - t0
    await asyncio.sleep(1.0)  # let the last reports land
    for _, w, _ in conns:
        w.close()
    return sent, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--rate", type=float, default=10.0, help="reports per second per node")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--json", default="", help="also write the figures here")
    a = ap.parse_args()
    epoch = time.time()
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=server_main, args=(a.nodes, epoch, ready, go, stop, out))
    proc.start()
    port = ready.get(timeout=120)
    sent, elapsed = asyncio.run(clients(port, a.nodes, a.rate, a.duration, scenario(a.nodes),
                                        go))
    stop.set()
    res = out.get(timeout=120)
    proc.join(timeout=30)
    lat = np.asarray(res["latency_s"]) * 1e3
    rate = sent / elapsed
    fig = {
        "nodes": a.nodes, "rate_per_node": a.rate, "duration_s": a.duration,
        "sent": sent, "received": res["received"], "lost": sent - res["received"],
        "bad_messages": res["bad_messages"], "offered_reports_per_s": round(rate, 1),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 2) if lat.size else math.nan,
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 2) if lat.size else math.nan,
        "latency_max_ms": round(float(lat.max()), 2) if lat.size else math.nan,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "server_cpu_s": round(res["cpu_s"], 2), "server_wall_s": round(res["wall_s"], 2),
        "cpu_s_per_s_per_1000_reports_per_s": round(
            res["cpu_s"] / res["wall_s"] / (rate / 1000.0), 3),
    }
    print(json.dumps(fig, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(fig, f, indent=1)
    return 0 if fig["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
