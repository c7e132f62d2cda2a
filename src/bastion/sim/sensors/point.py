"""Sensors that report 3-D positions of selected objects at a fixed period.

Passive RF (a direction-finding network), IFF (secondary-radar replies) and EO/IR (a
laser-ranged turret) differ only in *who* they can see and what class evidence they
carry; the timing, noise and batching are shared here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from bastion.core.detections import Detections, K
from bastion.sim.sensors.base import BlockView, PeriodicSensor
from bastion.sim.sensors.kernels import point_detect, point_in_range
from bastion.sim.world.air import AirState

__all__ = ["PointSensor", "evidence_row", "in_range_pd"]


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
        self.R0 = np.eye(3) * self.sigma**2  # every report's covariance
        self.reset(1)

    def _candidates(self, air: AirState, t_k: float, k: int, view: BlockView,
                    group: NDArray[np.bool_]
                    ) -> tuple[NDArray[np.int64], float, NDArray[np.float64]]:
        """(rows, detection probability, evidence) of objects this sensor could report in the
        block positions of ``group``; evidence is (n, K), or one (K,) row for all."""
        raise NotImplementedError

    def _emit(self, air: AirState, t1_s: float, view: BlockView, k: int,
              group: NDArray[np.bool_]) -> Detections:
        t_k = (k + 1) * self.period  # a report epoch is stamped at its end
        idx, pd, ev = self._candidates(air, t_k, k, view, group)
        if idx.size == 0:
            return Detections.empty()
        # detection draws, positions at the epoch and noise uniforms in one compiled pass
        sel, rows, reps, p, u = point_detect(idx, pd, view.streams.keys(self.key),
                                             view.row_block, view.row_local, k, air.pos,
                                             air.vel, t1_s - t_k)
        m = rows.size
        if m == 0:
            return Detections.empty()
        z = ndtri(u, out=u)
        z *= self.sigma
        z += p  # p + σ·n
        if ev.ndim == 1:
            evidence = np.empty((m, K))
            evidence[:] = ev
        else:
            evidence = ev[sel]
        R = np.empty((m, 3, 3))
        R[:] = self.R0
        return Detections(np.full(m, t_k), np.full(m, self.index, np.int64), z, R, evidence,
                          rows, reps)

    def _in_range(self, air: AirState, range_m: float, view: BlockView,
                  group: NDArray[np.bool_], sel: NDArray[np.bool_] | None = None,
                  kind: int = -1) -> NDArray[np.int64]:
        """Airborne rows of the group's positions within range_m, optionally only those with
        ``sel`` set and of ``kind``."""
        airborne = air.airborne
        return point_in_range(airborne, group, view.row_block, air.pos, self.pos, range_m**2,
                              airborne if sel is None else sel, air.kind, kind)


def evidence_row(likelihood: tuple[float, ...]) -> NDArray[np.float64]:
    """log P(report | class) of a report that carries the same likelihoods for everyone."""
    return np.log(np.asarray(likelihood, float))


def in_range_pd(sensor_enu: NDArray[np.float64], target_enu: NDArray[np.float64],
                range_m: float, pd: float) -> NDArray[np.float64]:
    """Per-epoch detection probability of a point sensor for targets at ``target_enu``
    (..., 3): ``pd`` within ``range_m`` (slant, as ``kernels.point_in_range`` tests it),
    0 beyond. Who is visible at all (emitters, transponders, the cued frame) is the
    caller's choice."""
    p = np.asarray(target_enu, float)
    x, y, z = p[..., 0] - sensor_enu[0], p[..., 1] - sensor_enu[1], p[..., 2] - sensor_enu[2]
    return np.where((x * x + y * y) + z * z <= range_m**2, pd, 0.0)
