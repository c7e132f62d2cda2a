"""Passive RF: hears only drones with an active control/video link.

An autonomous GNSS drone is silent and invisible to it — the planner's RF sensor buys
nothing against a pre-programmed raid, which is the point of modelling it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.schema import PassiveRF
from bastion.sim.sensors.base import BlockView
from bastion.sim.sensors.point import PointSensor, evidence_row
from bastion.sim.world.air import AirState

__all__ = ["RFSensor"]



class RFSensor(PointSensor):
    kind = "rf"

    def __init__(self, cfg: PassiveRF, index: int, pos_enu: NDArray[np.float64]) -> None:
        super().__init__(index, pos_enu, cfg.period_s, cfg.sigma_position_m)
        self.cfg = cfg
        self.evidence = evidence_row(cfg.class_likelihood)  # schema: PassiveRF.class_likelihood

    def _candidates(self, air: AirState, t_k: float, k: int, view: BlockView,
                    group: NDArray[np.bool_]):
        idx = self._in_range(air, self.cfg.range_m, view, group, sel=air.emits_rf)
        return idx, self.cfg.pd, self.evidence
