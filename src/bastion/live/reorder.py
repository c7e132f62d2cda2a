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
        self.released_until_s = -np.inf  # every report at or before this has been released
        self.max_seen_s = -np.inf
        self.counters = {"reports": 0, "late": 0, "overflow": 0}

    @property
    def held(self) -> int:
        return self._n

    def push(self, dets: Detections) -> int:
        """Take a batch; returns how many of its reports were late (and dropped)."""
        if dets.m == 0:
            return 0
        self.counters["reports"] += dets.m
        ok = dets.t_s > self.released_until_s
        late = int(dets.m - ok.sum())
        if late:
            self.counters["late"] += late
            dets = _rows(dets, np.flatnonzero(ok))
        if dets.m:
            self._held.append(dets)
            self._n += dets.m
            self.max_seen_s = max(self.max_seen_s, float(dets.t_s.max()))
        return late

    def release(self, until_s: float) -> Detections:
        """Every held report with ``t_s <= until_s`` in time order (plus, if more than
        ``max_held`` are held, the oldest of the rest, counted as overflow)."""
        if self._n == 0:
            self.released_until_s = max(self.released_until_s, until_s)
            return Detections.empty()
        allr = _sorted(self._held)
        k = int(np.searchsorted(allr.t_s, until_s, side="right"))
        over = max(0, allr.m - k - self.max_held)
        if over:
            self.counters["overflow"] += over
            k += over
        out = _rows(allr, np.arange(k))
        rest = _rows(allr, np.arange(k, allr.m))
        self._held = [rest] if rest.m else []
        self._n = rest.m
        hi = until_s if not over else max(until_s, float(out.t_s[-1]))
        self.released_until_s = max(self.released_until_s, hi)
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
