"""IFF interrogator: own aircraft with a working transponder reply, with some probability.

Identity can be wrong or late: a transponder that is off, or replies lost at the
interrogation period, leave an own aircraft to be judged by its kinematics alone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.schema import IFF
from bastion.sim.sensors.base import BlockView
from bastion.sim.sensors.point import PointSensor, evidence_row
from bastion.sim.world.air import AirState, Kind

__all__ = ["IFFSensor"]

_SIGMA_M = 60.0  # ASSUMED: secondary-radar position error


class IFFSensor(PointSensor):
    kind = "iff"

    def __init__(self, cfg: IFF, index: int, pos_enu: NDArray[np.float64]) -> None:
        super().__init__(index, pos_enu, cfg.interrogation_period_s, _SIGMA_M)
        self.cfg = cfg
        self.evidence = evidence_row(cfg.class_likelihood)  # schema: IFF.class_likelihood

    def _candidates(self, air: AirState, t_k: float, k: int, view: BlockView,
                    group: NDArray[np.bool_]):
        idx = self._in_range(air, self.cfg.range_m, view, group, sel=air.transponder,
                             kind=Kind.OWN)
        return idx, self.cfg.reply_probability, self.evidence
