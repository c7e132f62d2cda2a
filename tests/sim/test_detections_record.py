"""``simulate(detections=True)`` (what ``bastion feed`` plays) keeps every report the
sensors gave the tracker and changes nothing else."""

from __future__ import annotations

import numpy as np
from tests.conftest import small_scenario, tables_equal

from bastion.sim.engine import simulate, simulate_block


def test_recording_reports_changes_no_result_and_is_per_replication() -> None:
    sc = small_scenario()
    plain = simulate(sc, 1)
    kept = simulate(sc, 1, detections=True)
    assert plain.detections is None and plain.delivered_s is None
    assert tables_equal(plain.events, kept.events) and plain.outcome == kept.outcome
    d = kept.detections
    assert d is not None and kept.delivered_s is not None
    assert d.m > 100 and kept.delivered_s.shape == (d.m,)
    assert np.all(np.diff(kept.delivered_s) >= 0)  # delivery order
    assert np.all(d.t_s <= kept.delivered_s + 1e-9)  # a report is delivered after it is made
    assert np.all(d.group == 0) and np.all(np.isfinite(d.z))
    # in a lock-step block, each replication keeps its own reports, the same as alone
    block = simulate_block(sc, [0, 1], detections=True)
    b1 = block[1].detections
    assert b1 is not None and b1.m == d.m
    for f in ("t_s", "sensor", "z", "R", "evidence", "truth"):
        assert np.array_equal(getattr(b1, f), getattr(d, f)), f
