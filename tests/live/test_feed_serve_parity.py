"""Same detections, same decisions over real sockets: ``bastion feed``'s player
(``sim/feed.py play``, ×20, quiet time skipped) sends one simulated replication of
khmeimim-2018 as SAPIENT nodes over TCP on loopback into what ``bastion serve`` runs — the
real SAPIENT server and the real LiveDriver on the real wall clock, ticked at 10 Hz on the
event loop as the service ticks it (uvloop, as uvicorn runs it), effectors tasked through
the server. Its confirmed
tracks are as good as the simulator's on that replication (mean GOSPA against truth within
5 %), and it proposes the same engagements (by target drone and effector).

What is comparable: the simulator's world changes with its decisions (a drone shot down
stops being reported), so both sides run the doctrine's automatic mode (weapons free, no
person in the loop: a person's answers would be drawn by the simulator and given by nobody
live) and the live kill assessment answers what the simulator's did (the recorded reports
already hold the kills). The driver and the feed choose their epochs independently, as
``bastion serve`` and ``bastion feed`` do, on the scenario's epoch grid
(``live.driver.epoch_grid_s``): they differ by whole grids, so the feed's times fall on the
driver's step and radar-scan grids as they fell on the simulator's. (Off the grid — a feed
epoch 0.7 s off — one proposal of 24 went to another effector: a radar scan split
differently; by hand, 2026-12-05.) Run time: one simulated replication (a few seconds once
the kernels are compiled) plus the play, ~115 s of wall time at ×20 (2,890 simulated
seconds, ~660 of them quiet and skipped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from bastion.live.driver import LiveDriver, epoch_grid_s
from bastion.live.sapient_server import SapientServer
from bastion.scenario import load_scenario
from bastion.scenario.load import with_overrides
from bastion.sim.feed import FeedPlan, FeedStats, play
from tests.live.conftest import Recorded
from tests.live.parity import parity

T = TypeVar("T")
SPEED = 20.0
TICK_HZ = 10.0  # as the service ticks its driver (live/app.py)


@pytest.fixture(scope="module")
def khmeimim_rep0() -> Recorded:
    from bastion.sim.engine import simulate

    sc = with_overrides(load_scenario("khmeimim-2018"), {
        "doctrine.human_in_loop": False, "doctrine.weapons_control": "free",
        "wind.speed_sigma_mps": 0.0})
    return Recorded(sc, simulate(sc, 0, record=True, detections=True))


async def feed_into_service(rec: Recorded, plan: FeedPlan
                            ) -> tuple[LiveDriver, SapientServer, FeedStats]:
    sim = rec.result
    results = {e.id: e.result for e in sim.engagements if e.result}
    drv = LiveDriver(rec.scenario, session_dir=None, weapons_control="free",
                     track_id_base=0,
                     assessment=lambda eid, track, t: results.get(eid, "unknown"))
    srv = SapientServer(rec.scenario, drv)
    _, port = await srv.start()
    drv.tasker = srv.send_task  # as sapient_server.serve wires it

    async def ticker() -> None:
        while True:
            drv.tick()
            await asyncio.sleep(1.0 / TICK_HZ)

    tick = asyncio.create_task(ticker())
    try:
        # both epochs as the service and the feed choose them, independently
        st = await play(plan, "127.0.0.1", port, speed=SPEED)
        deadline = time.monotonic() + 30.0
        while drv.counters["reports"] < st.reports and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        tick.cancel()
        await srv.close()
    # the feed is over: step to its end whatever the wall clock says (as a replay would)
    drv.run_until(plan.t_end_s)
    return drv, srv, st


def run_as_served(coro: Coroutine[Any, Any, T]) -> T:
    """On the loop ``bastion serve`` runs on: uvicorn picks uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def test_feed_into_the_service_decides_as_the_simulator(khmeimim_rep0: Recorded) -> None:
    rec = khmeimim_rep0
    sim = rec.result
    plan = FeedPlan(rec.scenario, 0, sim.detections, sim.delivered_s, sim.t_end_s)
    drv, srv, st = run_as_served(feed_into_service(rec, plan))
    print(f"feed: {st.reports} reports in {st.wall_s:.1f} s at x{SPEED:g}, "
          f"{st.skipped_s:.0f} s quiet skipped in {st.skips} jumps, "
          f"{st.tasks_acked} tasks acked; driver counters {drv.counters}")
    # every report crossed the wire and reached the stages on time
    assert st.errors == 0 and srv.counters["bad_messages"] == 0
    assert st.reports == sim.detections.m == drv.counters["reports"]
    assert drv.counters["late"] == 0 and drv.counters["overflow"] == 0
    assert st.skips > 0  # the quiet skip was exercised
    # the two epochs differ by whole grids (epoch_grid_s): the simulator's time 0 is at
    # session time `offset`, and the feed's times fall on the driver's grids
    offset = st.epoch_utc - drv.epoch_utc
    grid = epoch_grid_s(rec.scenario)
    assert offset >= 0 and offset % grid == 0, (offset, grid)
    par = parity(sim, drv, offset)
    print(f"epoch offset {offset:g} s (grid {grid:g} s); {par}")
    assert par.gospa_rel <= 0.05
    assert par.proposals_sim and par.proposals_live == par.proposals_sim
    # approved engagements tasked the effector nodes over SAPIENT, which acknowledged
    fired = [e for e in drv.events().to_pylist() if e["kind"] == "fired"]
    assert fired and srv.counters["tasks"] >= len(fired)
    assert st.tasks_acked == srv.counters["tasks"] == srv.counters["task_acks"]
