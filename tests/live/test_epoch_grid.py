"""The session epoch grid: the driver's default epoch and ``bastion feed``'s, chosen
independently, differ by whole multiples of every period the driver steps on; and a served
session (raids dropped) closes with its folder written."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.live.driver import LiveDriver, _periods, epoch_grid_s
from bastion.live.sapient_server import SapientServer
from bastion.scenario.load import with_overrides
from bastion.sim.feed import plan, play
from tests.conftest import small_scenario
from tests.live.sink import RecordingSink, wait_for


def _on_grid(t: float, g: float) -> bool:
    k = t / g
    return abs(k - round(k)) < 1e-9 * max(1.0, abs(k))


@settings(max_examples=60, deadline=None)
@given(scan=st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 0.37, 7.3]),
       decision=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0]))
def test_the_grid_is_a_multiple_of_every_period(scan: float, decision: float) -> None:
    sc = with_overrides(small_scenario(), {"doctrine.decision_period_s": decision})
    radar = next(s.name for s in sc.sensors if s.kind == "radar")
    sc = with_overrides(sc, {f"sensors.{radar}.scan_period_s": scan})
    g = epoch_grid_s(sc)
    assert g >= 1.0 and g == int(g)
    assert all(_on_grid(g, p) for p in _periods(sc)), (g, _periods(sc))


def test_no_common_grid_within_an_hour_falls_back_to_whole_seconds() -> None:
    sc = small_scenario()
    radar = next(s.name for s in sc.sensors if s.kind == "radar")
    sc = with_overrides(sc, {f"sensors.{radar}.scan_period_s": 3.989})  # 3989 ms, a prime
    assert epoch_grid_s(sc) == 1.0


def test_the_driver_floors_its_epoch_to_the_grid() -> None:
    sc = small_scenario()
    g = epoch_grid_s(sc)
    assert g == 2.0  # its radar scans every 2 s
    drv = LiveDriver(sc, session_dir=None, clock=lambda: 1_800_000_003.7)
    assert drv.epoch_utc == 1_800_000_002.0
    assert LiveDriver(sc, session_dir=None, clock=lambda: 5.0,
                      epoch_utc=5.0).epoch_utc == 5.0  # a given epoch is kept


def test_the_feed_raises_its_epoch_to_the_grid() -> None:
    p = plan(small_scenario(), 0)
    g = epoch_grid_s(p.scenario)

    async def main() -> tuple[RecordingSink, float]:
        drv_epoch = math.floor(time.time() / g) * g
        sink = RecordingSink(drv_epoch)
        srv = SapientServer(p.scenario, sink)
        await srv.start()
        st = await play(p, "127.0.0.1", srv.port, speed=5_000.0)
        await wait_for(lambda: sum(d.m for _, d in sink.dets) == p.detections.m)
        await srv.close()
        return sink, st.epoch_utc

    sink, feed_epoch = asyncio.run(main())
    offset = feed_epoch - sink.epoch_utc
    assert offset >= 0 and _on_grid(offset, g)
    got = np.sort(np.concatenate([d.t_s for _, d in sink.dets]))
    np.testing.assert_allclose(got - offset, np.sort(p.detections.t_s), atol=2e-9)


def test_a_served_session_without_raids_closes(tmp_path: Path) -> None:
    """``bastion serve`` drops the raids: the session's events (track marks with drone -1)
    must still give an outcome row, and the session folder be written."""
    from bastion.core.detections import Detections
    from bastion.sim.engine import simulate
    from tests.live.conftest import rows

    sc = small_scenario()
    sim = simulate(sc, 0, detections=True)
    served = sc.model_copy(update={"raids": []})
    drv = LiveDriver(served, session_dir=tmp_path / "s", clock=lambda: 0.0, epoch_utc=0.0)
    d: Detections = sim.detections
    drv.submit(rows(d, d.t_s <= 300.0), node="x")
    drv.run_until(301.0)
    assert any(e["kind"] == "confirmed" for e in drv.events().to_pylist())
    folder = drv.close()
    assert folder is not None and (folder / "summary.json").is_file()
