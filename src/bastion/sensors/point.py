"""Sensors that report 3-D positions of selected objects at a fixed period.

Passive RF (a direction-finding network), IFF (secondary-radar replies) and EO/IR (a
laser-ranged turret) differ only in *who* they can see and what class evidence they
carry; the timing, noise and batching are shared here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.sensors.base import BlockView, Detections, K, PeriodicSensor
from bastion.world.air import AirState

__all__ = ["PointSensor"]


class PointSensor(PeriodicSensor):
    """Base: subclasses choose visible objects (``_candidates``) and evidence rows."""

    kind = "point"

    def __init__(self, index: int, pos_enu: NDArray[np.float64], period_s: float,
                 sigma_m: float) -> None:
        self.index = index
        self.pos = pos_enu
        self.period = period_s
        self.sigma = sigma_m
        self.key = f"{self.kind}/{index}"
        self.reset(1)

    def _candidates(self, air: AirState, t_k: float, k: int, view: BlockView,
                    group: NDArray[np.bool_]
                    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """(rows, detection probability, evidence (n, K)) of objects this sensor could report
        in the block positions of ``group``."""
        raise NotImplementedError

    def _emit(self, air: AirState, t1_s: float, view: BlockView, k: int,
              group: NDArray[np.bool_]) -> Detections:
        t_k = (k + 1) * self.period  # a report epoch is stamped at its end
        idx, pd, ev = self._candidates(air, t_k, k, view, group)
        if idx.size == 0:
            return Detections.empty()
        reps = view.row_block[idx]
        hit = view.streams.uniform(self.key, reps, view.row_local[idx], k, 0) < pd
        idx, ev, reps = idx[hit], ev[hit], reps[hit]
        if idx.size == 0:
            return Detections.empty()
        p = air.pos[idx] - air.vel[idx] * (t1_s - t_k)
        z = p + self.sigma * view.streams.normal(self.key, reps[:, None],
                                                 view.row_local[idx][:, None], k,
                                                 np.array([1, 2, 3]))
        m = idx.size
        R = np.broadcast_to(np.eye(3) * self.sigma**2, (m, 3, 3)).copy()
        return Detections(np.full(m, t_k), np.full(m, self.index, np.int64), z, R, ev,
                          idx.astype(np.int64), view.row_block[idx])

    def _in_range(self, air: AirState, range_m: float, view: BlockView,
                  group: NDArray[np.bool_]) -> NDArray[np.int64]:
        idx = np.flatnonzero(air.airborne & group[view.row_block])
        d2 = np.sum((air.pos[idx] - self.pos) ** 2, axis=1)
        return idx[d2 <= range_m**2]


def evidence_rows(n: int, likelihood: tuple[float, ...]) -> NDArray[np.float64]:
    return np.broadcast_to(np.log(np.asarray(likelihood, float)), (n, K)).copy()
