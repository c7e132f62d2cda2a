"""The reorder buffer: live reports arrive late and out of order; the tracker wants them in
time order.

Reports are held until the event-time clock has passed them (the clock itself is the
driver's: ``max(report time seen) - wait_s`` while reports flow), then released in time
order. A report whose time is at or before what was already released is *late*: it is
counted and dropped — not fed as an out-of-sequence measurement — because the tracker has
already moved its clock past it (``Tracker.step`` would reject it anyway, counting it as
``oosm_rejected``), and a decision epoch has already used the picture without it. Dropping
it here keeps the count in one place and the picture a function of the reports released.

Memory is bounded: at most ``max_held`` reports are held; beyond that the oldest held
reports are released early (counted as ``overflow``), so a flood cannot grow the buffer
without bound, and what is released early is still in time order.

Reports are kept as whole :class:`~bastion.core.detections.Detections` batches (a struct of
arrays each, never a Python object per report); release concatenates and sorts once.
Ties in time are broken by sensor, then position, so any arrival permutation inside the wait
releases the same sequence (``tests/live/test_reorder.py``).
"""

from __future__ import annotations

import numpy as np

from bastion.core.detections import Detections

__all__ = ["ReorderBuffer"]

_FIELDS = ("t_s", "sensor", "z", "R", "evidence", "truth", "group")


class ReorderBuffer:
    """Hold reports until ``release(t)`` says their time has come."""

    def __init__(self, max_held: int = 100_000) -> None:
        if max_held < 1:
            raise ValueError("max_held must be >= 1")
        self.max_held = max_held
        self._held: list[Detections] = []
        self._n = 0
        self.released_until_s = -np.inf  # the latest common release bound
        self._rel = np.zeros(0)  # per sensor: its reports at or before this are released
        self.max_seen_s = -np.inf
        self.counters = {"reports": 0, "late": 0, "overflow": 0}

    @property
    def held(self) -> int:
        return self._n

    def _bound(self, sensor: np.ndarray) -> np.ndarray:
        """Per report: the time at or before which its sensor's reports were released."""
        rel = self._rel
        if sensor.size and sensor.max() >= rel.size:
            # sensors not seen yet were under the common bound
            rel = self._rel = np.r_[rel, np.full(int(sensor.max()) + 1 - rel.size,
                                                 self.released_until_s)]
        return rel[sensor]

    def push(self, dets: Detections) -> int:
        """Take a batch; returns how many of its reports were late (and dropped)."""
        if dets.m == 0:
            return 0
        self.counters["reports"] += dets.m
        ok = dets.t_s > self._bound(dets.sensor)
        late = int(dets.m - ok.sum())
        if late:
            self.counters["late"] += late
            dets = _rows(dets, np.flatnonzero(ok))
        if dets.m:
            self._held.append(dets)
            self._n += dets.m
            self.max_seen_s = max(self.max_seen_s, float(dets.t_s.max()))
        return late

    def release(self, until_s: float, sensor_until: np.ndarray | None = None) -> Detections:
        """Every held report with ``t_s <= until_s`` (and, with ``sensor_until`` (S,), at or
        before its sensor's own bound, e.g. a radar's last completed scan) in time order;
        plus, if more than ``max_held`` would stay held, the oldest of the rest (counted as
        overflow)."""
        S = 0 if sensor_until is None else sensor_until.size
        if S > self._rel.size:
            self._rel = np.r_[self._rel, np.full(S - self._rel.size, self.released_until_s)]
        bound = np.full(self._rel.size, until_s)
        if S:
            bound[:S] = np.minimum(bound[:S], sensor_until)
        self.released_until_s = max(self.released_until_s, until_s)
        if self._n == 0:
            self._rel = np.maximum(self._rel, bound)
            return Detections.empty()
        allr = _sorted(self._held)
        self._bound(allr.sensor)  # grows _rel for any sensor new to it
        if bound.size < self._rel.size:
            bound = np.r_[bound, np.full(self._rel.size - bound.size, until_s)]
        due = allr.t_s <= bound[allr.sensor]
        over = max(0, int((~due).sum()) - self.max_held)
        if over:
            self.counters["overflow"] += over
            due[np.flatnonzero(~due)[:over]] = True  # the oldest of those still held
        out = _rows(allr, np.flatnonzero(due))
        rest = _rows(allr, np.flatnonzero(~due))
        self._held = [rest] if rest.m else []
        self._n = rest.m
        self._rel = np.maximum(self._rel, bound)
        if out.m:  # (overflow can release past a bound)
            np.maximum.at(self._rel, out.sensor, out.t_s)
        return out


def _rows(d: Detections, idx: np.ndarray) -> Detections:
    return Detections(*(getattr(d, f)[idx] for f in _FIELDS))


def _sorted(batches: list[Detections]) -> Detections:
    """The batches' reports sorted by (time, sensor, position): a total order on distinct
    reports, so the arrival order never shows in what is released."""
    allr = Detections(*(np.concatenate([getattr(b, f) for b in batches]) for f in _FIELDS))
    # lexsort: last key is primary; the stable sort keeps arrival order only among reports
    # identical in all of these (which the tracker cannot tell apart either)
    order = np.lexsort((allr.z[:, 2], allr.z[:, 1], allr.z[:, 0], allr.sensor, allr.t_s))
    return _rows(allr, order)
