"""A simulated replication's reports, recorded once, fed to live drivers by the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from bastion.core.detections import Detections
from bastion.live.driver import LiveDriver
from bastion.scenario import Scenario
from bastion.scenario.load import with_overrides
from tests.conftest import small_scenario

_F = ("t_s", "sensor", "z", "R", "evidence", "truth", "group")


def rows(d: Detections, m: Any) -> Detections:
    return Detections(*(getattr(d, f)[m] for f in _F))


def live_scenario(**changes: Any) -> Scenario:
    """The small scenario with the doctrine's automatic mode and a wind without spread (a
    live site plans with its measured wind; the simulator draws one per replication)."""
    return with_overrides(small_scenario(), {"doctrine.human_in_loop": False,
                                             "doctrine.weapons_control": "free",
                                             "wind.speed_sigma_mps": 0.0, **changes})


@dataclass
class Recorded:
    scenario: Scenario
    result: Any  # SimResult with .detections and .trace


@pytest.fixture(scope="session")
def recorded() -> Recorded:
    from bastion.sim.engine import simulate

    sc = live_scenario()
    return Recorded(sc, simulate(sc, 0, record=True, detections=True))


class Clock:
    """An injected wall clock the test moves by hand (UTC epoch seconds)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def feed(drv: LiveDriver, clock: Clock, d: Detections, t_end_s: float, *,
         jitter_s: float = 0.0, seed: int = 0, chunk_s: float = 0.25,
         on_tick: Any = None) -> None:
    """Play ``d`` into ``drv``: each report arrives at its time plus a uniform delay in
    [0, jitter_s), in arrival order, ``chunk_s`` of arrivals per submit, ticking after each
    (the clock follows arrival time, epoch 0)."""
    rng = np.random.default_rng(seed)
    arrive = d.t_s + rng.uniform(0.0, jitter_s, d.m) if jitter_s else d.t_s.copy()
    order = np.argsort(arrive, kind="stable")
    d, arrive = rows(d, order), arrive[order]
    edges = np.arange(0.0, t_end_s + jitter_s + chunk_s, chunk_s)
    lo = 0
    for a in edges:
        hi = int(np.searchsorted(arrive, a, side="right"))
        clock.t = drv.epoch_utc + a
        if hi > lo:
            sel = np.arange(lo, hi)
            for s in np.unique(d.sensor[sel]):  # one node per sensor
                drv.submit(rows(d, sel[d.sensor[sel] == s]), node=f"node-{int(s)}")
            lo = hi
        drv.tick()
        if on_tick is not None:
            on_tick(drv, a)
