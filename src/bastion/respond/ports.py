"""Plain implementations of the engagement book's ports that any driver can use or extend.

* :class:`AutoOperator` — weapons free, automatic: every proposal approved after a fixed
  delay (a test stand, or a doctrine without a human in the loop).
* :class:`StatusWeapons` — an effector port that keeps the effector status itself: a
  reserved effector is busy, a shot uses a round, an empty magazine starts its reload, the
  next shot waits the shot interval. The simulator extends it with the shot's truth; a live
  driver overwrites the status from the effectors' own reports.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.core.events import EventLog
from bastion.respond.effectors import EffectorState, EffectorStatus
from bastion.respond.engagement import Engagement

__all__ = ["AutoOperator", "StatusWeapons"]


class AutoOperator:
    """Approves every proposal ``delay_s`` after it is made."""

    def __init__(self, delay_s: float = 0.0, who: str = "weapons free (automatic)") -> None:
        self.delay_s, self.who = delay_s, who

    def submit(self, group: int, e: Engagement, t_s: float) -> None:
        pass

    def answer_time(self, group: int, e: Engagement) -> float:
        return e.t_proposed_s + self.delay_s

    def answer(self, group: int, e: Engagement) -> tuple[bool, str]:
        return True, self.who


class StatusWeapons:
    """Effector port over an :class:`EffectorStatus`; ``logs[g]`` gets group g's shots."""

    def __init__(self, eff: EffectorState, status: EffectorStatus,
                 logs: list[EventLog]) -> None:
        self.eff, self.status, self.logs = eff, status, logs

    def reserve(self, group: int, effector: int, t_s: float = -np.inf) -> None:
        st = self.status
        st.busy_until_s[group, effector] = np.inf  # until fired or released
        # a fire channel of its unit is held from the proposal (the crew lays it on the
        # target) to the intercept; none free (two weapons of a unit proposed in one epoch):
        # it tries again at the fire time
        st.channel_of[group, effector] = self._take_channel(group, effector, t_s)

    def release(self, group: int, effector: int, t_s: float) -> None:
        st = self.status
        st.busy_until_s[group, effector] = t_s
        c = st.channel_of[group, effector]
        if c >= 0:
            st.channel_until_s[group, self.eff.unit[effector], c] = t_s
            st.channel_of[group, effector] = -1

    def channel_for_fire(self, group: int, effector: int, t_s: float) -> bool:
        """Whether the effector holds (or can now take) a fire channel to fire at ``t_s``."""
        st = self.status
        if st.channel_of[group, effector] < 0:
            st.channel_of[group, effector] = self._take_channel(group, effector, t_s)
        return bool(st.channel_of[group, effector] >= 0)

    def _take_channel(self, group: int, effector: int, t_s: float) -> int:
        u = self.eff.unit[effector]
        if u < 0:
            return -1
        until = self.status.channel_until_s[group, u]
        free = np.flatnonzero(until <= t_s)
        if free.size == 0:
            return -1
        c = int(free[np.argmin(until[free])])
        until[c] = np.inf
        return c

    def fire(self, group: int, e: Engagement, t_s: float, track_pos: NDArray[np.float64],
             sigma_m: float, aim_point: NDArray[np.float64]) -> None:
        st, w = self.status, e.effector
        # a burst uses burst_rounds rounds (the last one what is left)
        st.rounds[group, w] -= min(int(self.eff.burst_rounds[w]), int(st.rounds[group, w]))
        if st.rounds[group, w] == 0 and st.reserve[group, w] > 0:
            st.reload_done_s[group, w] = t_s + self.eff.reload_s[w]
        st.busy_until_s[group, w] = t_s + self.eff.interval_s[w]
        # guidance time = time of flight: the channel is busy until the intercept
        c = st.channel_of[group, w]
        if c >= 0:
            st.channel_until_s[group, self.eff.unit[w], c] = e.t_hit_s
            st.channel_of[group, w] = -1
        self.fired(group, e, t_s, track_pos, sigma_m, aim_point)

    def fired(self, group: int, e: Engagement, t_s: float, track_pos: NDArray[np.float64],
              sigma_m: float, aim_point: NDArray[np.float64]) -> None:
        """Log the shot (a driver that knows more about it says more)."""
        self.logs[group].add(t_s, "fired", track=e.track, effector=e.effector,
                             engagement=e.id, xyz=aim_point, value=e.cost_usd,
                             detail=self.eff.names[e.effector])

    def assess(self, group: int, e: Engagement, t_s: float) -> str | None:
        return "unknown"  # no kill assessment without a sensor that reports one
