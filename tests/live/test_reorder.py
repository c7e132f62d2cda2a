"""The reorder buffer: time order out, late reports counted, memory bounded."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.detections import Detections, K
from bastion.live.reorder import ReorderBuffer


def dets(t: list[float], sensor: list[int] | None = None, x: list[float] | None = None
         ) -> Detections:
    n = len(t)
    z = np.zeros((n, 3))
    z[:, 0] = x if x is not None else np.arange(n)
    return Detections(np.asarray(t, float), np.asarray(sensor or [0] * n, np.int64), z,
                      np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, K)), np.full(n, -1),
                      np.zeros(n, np.int64))


def drain(buf: ReorderBuffer, arrivals: list[tuple[float, Detections]], wait_s: float,
          step_s: float) -> list[tuple[float, int, float]]:
    """Feed batches at their arrival times and release on an event-time clock
    (max seen - wait) every ``step_s``; the released (t, sensor, x) sequence."""
    out: list[tuple[float, int, float]] = []
    t_end = max(a for a, _ in arrivals) + wait_s + 1.0
    i, now = 0, 0.0
    arrivals = sorted(arrivals, key=lambda a: a[0])
    while now <= t_end:
        while i < len(arrivals) and arrivals[i][0] <= now:
            buf.push(arrivals[i][1])
            i += 1
        r = buf.release(now - wait_s)
        out += list(zip(r.t_s.tolist(), r.sensor.tolist(), r.z[:, 0].tolist(), strict=True))
        now += step_s
    r = buf.release(np.inf)
    out += list(zip(r.t_s.tolist(), r.sensor.tolist(), r.z[:, 0].tolist(), strict=True))
    return out


def test_released_in_time_order_and_late_reports_counted() -> None:
    buf = ReorderBuffer()
    buf.push(dets([3.0, 1.0, 2.0]))
    r = buf.release(2.0)
    assert r.t_s.tolist() == [1.0, 2.0]
    assert buf.held == 1
    assert buf.push(dets([1.5, 2.0, 2.5])) == 2  # at or before 2.0: late, dropped
    assert buf.counters == {"reports": 6, "late": 2, "overflow": 0}
    assert buf.release(10.0).t_s.tolist() == [2.5, 3.0]


def test_overflow_releases_the_oldest_and_counts_them() -> None:
    buf = ReorderBuffer(max_held=3)
    buf.push(dets([5.0, 1.0, 4.0, 2.0, 3.0]))
    r = buf.release(0.0)  # nothing is due, but five are held and three may be
    assert r.t_s.tolist() == [1.0, 2.0]
    assert buf.counters["overflow"] == 2 and buf.held == 3
    assert buf.push(dets([1.5])) == 1  # older than what overflow already released


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 20.0), st.integers(0, 3), st.floats(-1e4, 1e4)),
                min_size=1, max_size=40),
       st.randoms(use_true_random=False), st.floats(0.5, 3.0))
def test_any_arrival_permutation_within_the_wait_releases_the_same_sequence(
        reports: list[tuple[float, int, float]], rnd, wait_s: float) -> None:
    # reports (time, sensor, x) each arrive at its own time plus a delay inside the wait
    # (the clock runs on arrival time here: a delay beyond the wait would make it late)
    def run(delays: list[float]) -> list[tuple[float, int, float]]:
        arr = [(t + d, dets([t], [s], [x])) for (t, s, x), d in
               zip(reports, delays, strict=True)]
        return drain(ReorderBuffer(), arr, wait_s, 0.25)

    in_order = run([0.0] * len(reports))
    shuffled = run([rnd.uniform(0.0, wait_s * 0.99) for _ in reports])
    assert shuffled == in_order
    assert [r[0] for r in in_order] == sorted(r[0] for r in reports)
    assert len(in_order) == len(reports)  # none late: every delay is within the wait


def test_a_sensor_bound_holds_its_reports_until_its_scan_completes() -> None:
    buf = ReorderBuffer()
    buf.push(dets([0.5, 1.5, 1.2], sensor=[0, 0, 1]))
    r = buf.release(2.0, np.array([1.0, 2.0]))  # sensor 0's scan ended at 1.0
    assert list(zip(r.t_s.tolist(), r.sensor.tolist(), strict=True)) == [(0.5, 0), (1.2, 1)]
    assert buf.push(dets([1.1], sensor=[1])) == 1  # sensor 1 was released up to 2.0
    assert buf.push(dets([1.1], sensor=[0])) == 0  # sensor 0 only up to 1.0
    assert buf.release(2.0, np.array([2.0, 2.0])).t_s.tolist() == [1.1, 1.5]
