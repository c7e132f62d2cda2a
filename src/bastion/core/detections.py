"""The batch of reports every sensor produces — simulated or live — and the tracker consumes,
and the identity classes their evidence is about."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from numpy.typing import NDArray

__all__ = ["CLASSES", "Detections", "K", "class_loglik"]

# Identity classes carried as evidence and estimated by assess (order is the contract).
CLASSES = ("hostile_drone", "bird", "own_aircraft")
K = len(CLASSES)


def class_loglik(likelihood: tuple[float, float, float]) -> NDArray[np.float64]:
    """Log-likelihood row from P(report | class) for each class."""
    return np.log(np.asarray(likelihood, dtype=float))


_FIELDS = ("t_s", "sensor", "z", "R", "evidence", "truth", "group")


@dataclass(frozen=True, slots=True)
class Detections:
    """A batch of reports, one row each (struct of arrays).

    ``group`` tags each report with the picture it belongs to: the replication's position in
    a lock-step block in analysis, the site live (0 for a single site). Stages keep groups
    apart and never mix their rows.

    ``truth`` is the simulator's answer key (row of the world's air objects, -1 for clutter
    and for every live report); no stage reads it, only the simulator's own bookkeeping.
    """

    t_s: NDArray[np.float64]  # (m,) each report's own time
    sensor: NDArray[np.int64]  # (m,) sensor index in the scenario
    z: NDArray[np.float64]  # (m, 3) ENU m
    R: NDArray[np.float64]  # (m, 3, 3)
    evidence: NDArray[np.float64]  # (m, K) log P(report | class); zeros = no evidence
    truth: NDArray[np.int64]  # (m,)
    group: NDArray[np.int64]  # (m,) replication of a lock-step block, or site live

    @property
    def m(self) -> int:
        return int(self.t_s.shape[0])

    @staticmethod
    def empty() -> Detections:
        return Detections(
            np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3, 3)),
            np.zeros((0, K)), np.zeros(0, np.int64), np.zeros(0, np.int64),
        )

    @staticmethod
    def concat(batches: list[Detections]) -> Detections:
        """The batches' reports in one batch, stably sorted by time."""
        batches = [b for b in batches if b.m]
        if not batches:
            return Detections.empty()
        if len(batches) == 1:
            out = batches[0]
        else:
            out = Detections(*(np.concatenate([getattr(b, f) for b in batches]) for f in
                               _FIELDS))
        if nondecreasing(out.t_s):
            return out  # already in order (a sensor's own batch is): the sort is the identity
        order = np.argsort(out.t_s, kind="stable")
        return Detections(*gather_rows(order, *(getattr(out, f) for f in _FIELDS)))



@nb.njit(cache=True, error_model="numpy")
def nondecreasing(t):  # pragma: no cover - compiled
    """True when t is sorted (no NaN): a stable argsort of it is the identity."""
    for i in range(1, t.shape[0]):
        if not t[i - 1] <= t[i]:
            return False
    return True


@nb.njit(cache=True, error_model="numpy")
def gather_rows(order, t, sensor, z, R, ev, truth, group):  # pragma: no cover - compiled
    """The seven report fields taken at rows ``order`` in one pass (was seven fancy
    indexes); z (m, 3), R (m, 3, 3), ev (m, K)."""
    m = order.shape[0]
    t2 = np.empty(m)
    s2 = np.empty(m, np.int64)
    z2 = np.empty((m, z.shape[1]))
    R2 = np.empty((m, R.shape[1], R.shape[2]))
    e2 = np.empty((m, ev.shape[1]))
    tr2 = np.empty(m, np.int64)
    rp2 = np.empty(m, np.int64)
    for j in range(m):
        i = order[j]
        t2[j] = t[i]
        s2[j] = sensor[i]
        z2[j] = z[i]
        R2[j] = R[i]
        e2[j] = ev[i]
        tr2[j] = truth[i]
        rp2[j] = group[i]
    return t2, s2, z2, R2, e2, tr2, rp2
