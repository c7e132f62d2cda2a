"""A simulated replication as the tables a live session records, for replay.

The replication's sensor reports (``simulate(detections=True)``) are played through a
live driver, whose tracks are then the simulator's own (same reports, same tracker, same
steps: ``tests/live/test_driver.py``); tracks the simulator's kill assessment dropped are
dropped at the same step. The events are the simulator's (its decisions, and the truth's
fates: launched, killed, leaked, …).
"""

from __future__ import annotations

import math

import pyarrow as pa

from bastion.live.driver import LiveDriver
from bastion.scenario.schema import Scenario
from bastion.sim.engine import simulate

__all__ = ["replication_tables"]


def replication_tables(sc: Scenario, replication: int = 0, seed: int | None = None
                       ) -> tuple[pa.Table, pa.Table, float]:
    """(events, tracks, end time s) of one simulated replication."""
    r = simulate(sc, replication, seed=seed, detections=True)
    d = r.detections
    assert d is not None
    # automatic mode: the stage rates every track as a live one would; its own engagements
    # are never shown (the simulator's events are), and its assessments drop nothing
    drv = LiveDriver(sc, session_dir=None, clock=lambda: 0.0, epoch_utc=0.0,
                     reorder_wait_s=0.0, weapons_control="free", track_id_base=0,
                     max_held=d.m + 1)
    drv.submit(d, node="simulator")
    step = drv.step_s
    kills = sorted((math.ceil(e.history[-1][1] / step - 1e-9) * step, e.track)
                   for e in r.engagements if e.result == "killed")
    for t_k, track in kills:
        drv.run_until(t_k)
        drv.drop(track)
    drv.run_until(r.t_end_s)
    return r.events, drv.tracks_table(), float(r.t_end_s)
