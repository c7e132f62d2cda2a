"""EO/IR turret: slew-to-cue, one target at a time, good classification; IR only at night.

The assess stage cues it (``cue(block positions, track ids, positions, velocities, t)``) at
the most threatening track whose identity is still uncertain. After the slew it dwells,
reporting whatever real object lies within its field of view near the cued position, with
a class report that is right with ``p_correct_class``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.core.detections import K
from bastion.scenario.schema import EOIR
from bastion.scenario.terrain import Profile
from bastion.sim.sensors.base import BlockView
from bastion.sim.sensors.kernels import eoir_candidates, eoir_reported
from bastion.sim.sensors.point import PointSensor
from bastion.sim.world.air import AirState

__all__ = ["EOIRSensor", "eoir_range_m"]

_FOV_M = 150.0  # ASSUMED: how far from the cue a real object still falls in the frame


def eoir_range_m(cfg: EOIR, night: bool) -> float:
    """The turret's detection range: the IR channel's at night, the day channel's by day."""
    return cfg.range_night_m if night else cfg.range_day_m


class EOIRSensor(PointSensor):
    kind = "eoir"

    def __init__(self, cfg: EOIR, index: int, pos_enu: NDArray[np.float64], night: bool) -> None:
        super().__init__(index, pos_enu, cfg.period_s, cfg.sigma_position_m)
        self.cfg = cfg
        self.range_m = eoir_range_m(cfg, night)
        conf = np.array(cfg.confusion_matrix(), float)  # schema: EOIR.confusion
        self.confusion = conf  # P(reported class j | true class i)
        self.cum_confusion = np.cumsum(conf, axis=1)
        self.profile: Profile | None = None  # terrain line of sight (None: flat ground)
        self.reset(1)

    def reset(self, n_block: int) -> None:
        super().reset(n_block)
        # the turret's cue, one per block position (each replication has its own turret)
        self.cue_track = np.full(n_block, -1, np.int64)
        self.cue_pos = np.zeros((n_block, 3))
        self.cue_vel = np.zeros((n_block, 3))
        self.cue_t = np.full(n_block, -np.inf)
        self.busy_until = np.full(n_block, -np.inf)

    def free(self, t_s: float) -> NDArray[np.bool_]:
        """(B,) which block positions' turrets can take a new cue."""
        return t_s >= self.busy_until

    def cue(self, b: NDArray[np.int64], track_id: NDArray[np.int64], pos: NDArray[np.float64],
            vel: NDArray[np.float64], t_s: float) -> None:
        self.cue_track[b] = track_id
        self.cue_pos[b], self.cue_vel[b], self.cue_t[b] = pos, vel, t_s
        self.busy_until[b] = t_s + self.cfg.slew_time_s + self.cfg.dwell_s

    def _candidates(self, air: AirState, t_k: float, k: int, view: BlockView,
                    group: NDArray[np.bool_]):
        idx = eoir_candidates(air.airborne, group, view.row_block, air.pos, self.pos,
                              self.range_m**2, self.cue_track, self.cue_t, self.cue_pos,
                              self.cue_vel, self.busy_until, self.cfg.slew_time_s, t_k, _FOV_M)
        if self.profile is not None and idx.size:
            idx = idx[self.profile.visible_from(self.pos, air.pos[idx])]
        if idx.size == 0:
            return idx, self.cfg.pd, np.zeros((0, K))
        # the class report: a draw against the true row of the confusion matrix
        reported = eoir_reported(idx, air.kind, self.cum_confusion,
                                 view.streams.keys(self.key), view.row_block, view.row_local,
                                 k)
        ev = np.log(self.confusion[:, reported].T)  # log P(report | each class)
        return idx, self.cfg.pd, ev
