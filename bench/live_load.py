"""Load on the live service: N simulated SAPIENT nodes × R reports/s for S seconds over
loopback, through the real path SAPIENT server → LiveDriver → FastAPI app → WebSocket /ws.

    python bench/live_load.py [--nodes 100] [--rate 10] [--seconds 60] [--picture-hz 5]

The service runs in its own process: a real ``LiveDriver`` (weapons tight, a 1 s reorder
wait), the app of ``live.app.create_app`` (its ticker at 10 Hz, its picture pusher at
``--picture-hz``, 5 as the service runs) served by uvicorn on a free loopback port, and the
real SAPIENT server started as the app's background job (``sapient_server.serve``), as
``bastion serve`` wires them, on uvloop when installed (as uvicorn runs ``bastion serve``).
A user is added to the service's database and this process logs in through
``POST /api/login`` (argon2, as a person would) and opens ``/ws`` with the session cookie.

The nodes (one TCP connection each, registered first) run in this process, each sending
range/bearing DetectionReports stamped with the UTC time they are written (staggered across
the period). Figures:

- lost: reports sent minus reports the driver counted (``counters["reports"]``), and late
  (reports the driver dropped as behind its clock); both should be 0.
- report → WebSocket latency, p50 / p99 / max: the time from writing a report to receiving
  the first WebSocket message that reflects it — a picture (``picture_hz``) or, between
  pictures, a sensor-rows update (pushed within ``SENSOR_PUSH_S`` of a report, coalesced)
  whose row for that node has ``last_report_s`` at or past the report's time
  (``driver.submit`` sets it when the report is taken in; the tracker sees the report after
  the reorder wait, by design). The driver steps in a worker thread, so a step does not
  hold the loop that reads the nodes and writes the WebSocket.
- report → driver latency, p50 / p99: writing it to ``LiveDriver.submit`` being called
  (the SAPIENT part of the path; the service's own clock, one machine).
- CPU: the service process's CPU time (``time.process_time``) over the load window, as
  CPU seconds per second per 1,000 reports/s (cores busy at that rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from bastion.core.detections import Detections
from bastion.live import sapient as sp
from bastion.live.driver import LiveDriver
from bastion.scenario import Frame, Scenario, load_scenario

USER, PASSWORD = "bench-op", "bench-password-7319"


def scenario(nodes: int) -> Scenario:
    """khmeimim-2018 with its first radar copied ``nodes`` times under distinct names."""
    sc = load_scenario("khmeimim-2018")
    radar = next(s for s in sc.sensors if s.kind == "radar")
    return sc.model_copy(update={"sensors": [radar.model_copy(update={"name": f"node-{i}"})
                                             for i in range(nodes)]})


class TimedDriver(LiveDriver):
    """The real driver, noting how long each report took to reach it."""

    latency_s: list[float]

    def submit(self, dets: Detections, *, node: str) -> None:
        now = time.time() - self.epoch_utc
        if dets.m:
            self.latency_s.append(now - float(dets.t_s[0]))
        super().submit(dets, node=node)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_main(nodes: int, picture_hz: float, ready: Any, go: Any, stop: Any,
                out: Any) -> None:
    import uvicorn

    from bastion.live import sapient_server
    from bastion.live.app import create_app
    from bastion.live.auth import Users
    from bastion.live.db import Database
    from bastion.live.serve import bind

    async def run() -> None:
        tmp = Path(tempfile.mkdtemp(prefix="bastion-load-"))
        db_path = tmp / "bastion.db"
        db = Database(db_path)
        Users(db).add(USER, "operator", PASSWORD)
        db.close()
        drv = TimedDriver(scenario(nodes), session_dir=None, weapons_control="tight")
        drv.latency_s = []
        sapient_port = free_port()
        app = create_app(drv, db_path, static_dir=None, picture_hz=picture_hz,
                         background=[lambda: sapient_server.serve(drv, "127.0.0.1",
                                                                  sapient_port)])
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the SAPIENT server's bind
        ready.put({"http_port": sock.getsockname()[1], "sapient_port": sapient_port,
                   "epoch_utc": drv.epoch_utc})
        while not go.is_set():
            await asyncio.sleep(0.01)
        cpu0, wall0 = time.process_time(), time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
        cpu1, wall1 = time.process_time(), time.monotonic()
        res = {"driver_reports": drv.counters["reports"], "late": drv.counters["late"],
               "bad_messages": drv.counters["bad_messages"],
               "overflow": drv.counters["overflow"], "steps": drv.counters["steps"],
               "tick_errors": app.state.stats["tick_errors"],
               "ingest_latency_s": drv.latency_s, "cpu_s": cpu1 - cpu0,
               "wall_s": wall1 - wall0}
        server.should_exit = True
        await task
        out.put(res)

    # the loop `bastion serve` runs on: uvicorn picks uvloop when it is installed
    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(run())


async def clients(ports: dict[str, Any], nodes: int, rate: float, duration_s: float,
                  sc: Scenario, go: Any) -> dict[str, Any]:
    import httpx
    import websockets

    epoch = float(ports["epoch_utc"])
    base = f"127.0.0.1:{ports['http_port']}"
    async with httpx.AsyncClient(base_url=f"http://{base}", timeout=30) as http:
        r = await http.post("/api/login", json={"username": USER, "password": PASSWORD})
        r.raise_for_status()
        cookie = f"bastion_session={r.cookies['bastion_session']}"
    ws = await websockets.connect(f"ws://{base}/ws", additional_headers={"Cookie": cookie},
                                  max_size=2**26)
    pending: dict[str, deque[float]] = {f"node-{i}": deque() for i in range(nodes)}
    latency: list[float] = []
    pictures = 0
    picture_bytes = 0
    sensor_msgs = 0

    async def watch() -> None:
        nonlocal pictures, picture_bytes, sensor_msgs
        async for text in ws:
            got = time.time()
            msg = json.loads(text)
            if msg.get("type") == "sensors":
                sensor_msgs += 1
            elif msg.get("type") == "picture":
                pictures += 1
                picture_bytes += len(text)
            else:
                continue
            for s in msg["data"]["sensors"]:
                q, last = pending.get(s["name"]), s["last_report_s"]
                if q is None or last is None:
                    continue
                while q and q[0] <= last + 1e-6:  # reflected: it reached the driver
                    latency.append(got - (epoch + q.popleft()))

    watcher = asyncio.create_task(watch())
    geo = Frame(sc.origin)
    radar = geo.point(sc.sensors[0].position)
    conns = []
    for i in range(nodes):
        rd, w = await asyncio.open_connection("127.0.0.1", ports["sapient_port"])
        nid = sp.node_uuid(f"node-{i}", "bench")
        w.write(sp.frame(sp.registration(nid, f"node-{i}", "radar", time.time_ns())))
        conns.append((rd, w, nid))
    for rd, _, _ in conns:  # every node registered before the load starts
        got = sp.FrameDecoder().feed(await rd.read(4096))
        assert got and isinstance(got[0], sp.GoodFrame) and \
            got[0].message.registration_ack.acceptance
    sent = 0
    period = 1.0 / rate
    t0 = time.monotonic()
    go.set()

    async def node(k: int) -> None:
        nonlocal sent
        _, w, nid = conns[k]
        q = pending[f"node-{k}"]
        z = radar + np.array([5_000.0 + 10 * k, 2_000.0, 300.0])
        n = 0
        start = t0 + period * k / nodes  # stagger the nodes across the period
        while True:
            due = start + n * period
            if due - t0 >= duration_s:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            t_ns = time.time_ns()
            q.append(t_ns / 1e9 - epoch)
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
    await asyncio.sleep(1.5)  # the last reports land and show in a picture
    watcher.cancel()
    await ws.close()
    for _, w, _ in conns:
        w.close()
    return {"sent": sent, "elapsed_s": elapsed, "latency_s": latency, "pictures": pictures,
            "sensor_msgs": sensor_msgs,
            "picture_kb_mean": picture_bytes / max(pictures, 1) / 1e3,
            "not_shown": sum(len(q) for q in pending.values())}


def _ms(x: np.ndarray, q: float) -> float:
    return round(float(np.percentile(x, q)) * 1e3, 2) if x.size else math.nan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--rate", type=float, default=10.0, help="reports per second per node")
    ap.add_argument("--seconds", "--duration", dest="seconds", type=float, default=60.0,
                    help="seconds of load")
    ap.add_argument("--picture-hz", type=float, default=5.0,
                    help="the service's picture pushes per second (5 as served)")
    ap.add_argument("--json", default="", help="also write the figures here")
    a = ap.parse_args()
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=server_main, args=(a.nodes, a.picture_hz, ready, go, stop, out))
    proc.start()
    ports = ready.get(timeout=180)
    c = asyncio.run(clients(ports, a.nodes, a.rate, a.seconds, scenario(a.nodes), go))
    stop.set()
    res = out.get(timeout=120)
    proc.join(timeout=30)
    lat = np.asarray(c["latency_s"])
    ing = np.asarray(res["ingest_latency_s"])
    rate = c["sent"] / c["elapsed_s"]
    fig = {
        "nodes": a.nodes, "rate_per_node": a.rate, "seconds": a.seconds,
        "picture_hz": a.picture_hz,
        "sent": c["sent"], "driver_reports": res["driver_reports"],
        "lost": c["sent"] - res["driver_reports"], "late": res["late"],
        "bad_messages": res["bad_messages"], "overflow": res["overflow"],
        "tick_errors": res["tick_errors"], "driver_steps": res["steps"],
        "offered_reports_per_s": round(rate, 1),
        "ws_pictures": c["pictures"], "ws_sensor_updates": c["sensor_msgs"],
        "picture_kb_mean": round(c["picture_kb_mean"], 1),
        "not_shown_in_a_picture": c["not_shown"],
        "report_to_ws_p50_ms": _ms(lat, 50), "report_to_ws_p99_ms": _ms(lat, 99),
        "report_to_ws_max_ms": _ms(lat, 100),
        "report_to_driver_p50_ms": _ms(ing, 50), "report_to_driver_p99_ms": _ms(ing, 99),
        "report_to_driver_max_ms": _ms(ing, 100),
        "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "server_cpu_s": round(res["cpu_s"], 2), "server_wall_s": round(res["wall_s"], 2),
        "cpu_s_per_s_per_1000_reports_per_s": round(
            res["cpu_s"] / res["wall_s"] / (rate / 1000.0), 3),
    }
    fig["goal_p99_50ms_met"] = bool(fig["report_to_ws_p99_ms"] <= 50.0)
    print(json.dumps(fig, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(fig, f, indent=1)
    return 0 if fig["lost"] == 0 and fig["late"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
