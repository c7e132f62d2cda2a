"""The engagement book: every engagement of every group through one state machine.

    propose ─► (operator answers) decide ─► fire check ─► fire ─► assessed

The book is the same for both drivers; what differs sits behind three small ports:

* :class:`OperatorPort` — who approves. The simulator's operator is a queue with a random
  decision time whose answer is drawn when asked; live, a person answers in the browser
  (and the service calls :meth:`EngagementBook.decide` itself).
* :class:`EffectorPort` — the weapons: reserve and release one for an engagement, fire it,
  and report the kill assessment. In the simulator firing plays the shot out against the
  truth; live it tasks the effector.
* :class:`TrackPort` — the tracker: a track's state at a time (or None once lost) and
  dropping a track assessed killed.

C2 events (proposed, approved, rejected, expired, assessed) go to the group's event log;
the effector port logs what it does (fired, …) itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from bastion.core.events import EventLog
from bastion.respond.effectors import EffectorState, EffectorStatus
from bastion.respond.engagement import Engagement, EngagementState
from bastion.respond.kinetic import intercepts
from bastion.respond.planner import Proposal
from bastion.scenario.schema import Doctrine

__all__ = ["EffectorPort", "EngagementBook", "OperatorPort", "TrackPort"]

_S = EngagementState


class OperatorPort(Protocol):
    def submit(self, group: int, e: Engagement, t_s: float) -> None:
        """A new proposal is put to the group's operator at ``t_s``."""

    def answer_time(self, group: int, e: Engagement) -> float:
        """When the operator answers (or answered); inf while unknown."""

    def answer(self, group: int, e: Engagement) -> tuple[bool, str]:
        """(approve, who), asked once at :meth:`answer_time`."""


class EffectorPort(Protocol):
    def reserve(self, group: int, effector: int, t_s: float = -math.inf) -> None:
        """The effector is held for an engagement (proposed at ``t_s``) until it fires or is
        released; so is a fire channel of its unit that is free at ``t_s``, if any."""

    def release(self, group: int, effector: int, t_s: float) -> None:
        """The engagement ended before firing: the effector is free from ``t_s``."""

    def fire(self, group: int, e: Engagement, t_s: float, track_pos: NDArray[np.float64],
             sigma_m: float, aim_point: NDArray[np.float64]) -> None:
        """Fire at the predicted intercept ``aim_point``; ``track_pos`` and ``sigma_m``: the
        track's estimated position at ``t_s`` and its predicted error there."""

    def assess(self, group: int, e: Engagement, t_s: float) -> str | None:
        """"killed" | "missed" | "unknown", or None while there is no assessment yet."""


class TrackPort(Protocol):
    def state_at(self, track_key: int, t_s: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """The track's (1, 6) state and (1, 6, 6) covariance at ``t_s``; None once lost."""

    def drop(self, track_key: int) -> None:
        """Stop tracking it (assessed killed)."""


@dataclass
class _Group:
    log: EventLog
    engagements: list[Engagement] = field(default_factory=list)
    open: list[Engagement] = field(default_factory=list)  # not yet ended: all a tick needs
    wake: float = math.inf  # nothing can move before then (see EngagementBook.due)


class EngagementBook:
    """Engagements of ``len(logs)`` groups; ``logs[g]`` is group g's event log."""

    def __init__(self, doctrine: Doctrine, effectors: EffectorState, status: EffectorStatus,
                 logs: list[EventLog], operator: OperatorPort, weapons: EffectorPort,
                 tracks: TrackPort, is_threat: Callable[[int], bool]) -> None:
        self.doctrine, self.eff, self.status = doctrine, effectors, status
        self.operator, self.weapons, self.tracks, self.is_threat = (operator, weapons, tracks,
                                                                     is_threat)
        self.groups = [_Group(log) for log in logs]

    # ------------------------------------------------------------------ queries
    def engagements(self, g: int) -> list[Engagement]:
        return self.groups[g].engagements

    def open(self, g: int) -> list[Engagement]:
        return self.groups[g].open

    def wake(self, g: int) -> float:
        """The earliest time :meth:`progress` can move one of group g's engagements."""
        return self.groups[g].wake

    def engaged(self, groups: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Track keys with an open engagement in the ``groups`` (G,) mask."""
        keys = [e.track_key for g in np.flatnonzero(groups) for e in self.groups[g].open]
        return np.array(keys, np.int64)

    # ------------------------------------------------------------------ transitions
    def propose(self, g: int, t_s: float, p: Proposal, track_key: int, track: int,
                p_hostile: float = math.nan) -> Engagement:
        grp = self.groups[g]
        e = Engagement(len(grp.engagements), p.effector, track, t_s, p.pk,
                       float(self.eff.cost_usd[p.effector]), p.reason, track_key=track_key,
                       p_hostile=float(p_hostile))
        self.operator.submit(g, e, t_s)
        self.weapons.reserve(g, p.effector, t_s)
        grp.engagements.append(e)
        grp.open.append(e)
        w = self._when(g, e)
        if w < grp.wake:
            grp.wake = w
        grp.log.add(t_s, "proposed", track=track, effector=p.effector, engagement=e.id,
                    value=p.pk, detail=f"p_nfz={p.p_nfz:.4f}")
        return e

    def decide(self, g: int, e: Engagement, approve: bool, t_s: float, who: str = "") -> None:
        """The operator's answer at ``t_s``: approved engagements fire after the effector's
        reaction time, rejected ones release it."""
        e.t_decision_s, e.decided_by = t_s, who
        if approve:
            e.to(_S.APPROVED, t_s, who)
            self.groups[g].log.add(t_s, "approved", track=e.track, effector=e.effector,
                                   engagement=e.id)
            e.t_fire_s = t_s + float(self.eff.reaction_s[e.effector])
        else:
            self._release(g, e, _S.REJECTED, t_s, "operator rejected")

    def progress(self, g: int, t_s: float) -> None:
        """Move group g's open engagements through their state machine up to ``t_s``."""
        grp = self.groups[g]
        timeout = self.doctrine.operator.timeout_s
        for e in grp.open:
            if e.state == _S.PROPOSED:
                deadline = e.t_proposed_s + timeout
                t_ans = self.operator.answer_time(g, e)
                if t_ans > deadline and t_s >= deadline:
                    self._release(g, e, _S.EXPIRED, deadline, "operator did not decide in time")
                elif t_ans <= t_s:
                    approve, who = self.operator.answer(g, e)
                    self.decide(g, e, approve, t_ans, who)
            if e.state == _S.APPROVED and e.t_fire_s <= t_s:
                self._fire(g, e)
            if e.state == _S.FIRING and self._t_assess(e) <= t_s:
                result = self.weapons.assess(g, e, self._t_assess(e))
                if result is not None:
                    self._assessed(g, e, result)
        grp.open = [e for e in grp.open if e.open]
        self.due(g)

    def due(self, g: int) -> float:
        """Bring group g's wake time up to date: the earliest time at which :meth:`progress`
        can move one of its open engagements (each of its tests solved for t). Between
        transitions nothing changes what it depends on, so a driver whose clock is before it
        need not call ``progress``: most ticks most groups wait on an operator or a round."""
        grp = self.groups[g]
        wake = math.inf
        for e in grp.open:
            w = self._when(g, e)
            if w < wake:  # (a NaN time never comes: progress never acts on it either)
                wake = w
        grp.wake = wake
        return wake

    def _when(self, g: int, e: Engagement) -> float:
        st = e.state
        if st == _S.PROPOSED:  # expires at the deadline, or decided when the answer comes
            deadline = e.t_proposed_s + self.doctrine.operator.timeout_s
            t_ans = self.operator.answer_time(g, e)
            return deadline if t_ans > deadline else t_ans
        if st == _S.APPROVED:
            return e.t_fire_s
        return self._t_assess(e)  # FIRING

    def _t_assess(self, e: Engagement) -> float:
        return e.t_hit_s + self.doctrine.kill_assessment_delay_s

    def _release(self, g: int, e: Engagement, state: EngagementState, t_s: float,
                 why: str) -> None:
        e.to(state, t_s, why)
        self.weapons.release(g, e.effector, t_s)
        self.groups[g].log.add(t_s, state.name.lower(), track=e.track, effector=e.effector,
                               engagement=e.id, detail=why)

    def _fire(self, g: int, e: Engagement) -> None:
        """The fire check at the fire time: the track still held, a round left, still a
        threat and still inside the envelope; then fire at the predicted intercept."""
        w, t_f, eff = e.effector, e.t_fire_s, self.eff
        st = self.tracks.state_at(e.track_key, t_f)
        if st is None or self.status.rounds[g, w] <= 0:
            self._release(g, e, _S.EXPIRED, t_f, "track lost before firing")
            return
        if not self.is_threat(e.track_key):
            # e.g. the drone was captured by the spoofer and turned away after approval
            self._release(g, e, _S.EXPIRED, t_f, "no longer a threat")
            return
        channel = getattr(self.weapons, "channel_for_fire", None)
        if channel is not None and not channel(g, w, t_f):
            self._release(g, e, _S.EXPIRED, t_f, "no fire channel free")
            return
        x, P = st
        s = slice(w, w + 1)
        ic = intercepts(eff.pos[s], eff.speed_mps[s], np.zeros(1), eff.min_range_m[s],
                        eff.max_range_m[s], eff.max_alt_m[s], eff.pk_max[s],
                        eff.required_sigma_m[s], eff.error_scale_m[s], eff.cross_scale_mps[s],
                        ~eff.gun[s], x, P, burst_rounds=eff.burst_rounds[s],
                        min_alt_m=eff.min_alt_m[s])
        if not ic.feasible[0, 0] or not eff.visible(np.array([w]), ic.point)[0, 0]:
            self._release(g, e, _S.EXPIRED, t_f, "no longer in envelope")
            return
        e.to(_S.FIRING, t_f)
        e.pk_expected = float(ic.pk[0, 0])
        e.t_hit_s = t_f + float(ic.t_flight_s[0, 0])
        self.weapons.fire(g, e, t_f, x[0, :3], float(ic.sigma_m[0, 0]), ic.point[0, 0])

    def _assessed(self, g: int, e: Engagement, result: str) -> None:
        t = self._t_assess(e)
        e.result = result
        e.to(_S.ASSESSED, t, result)
        self.groups[g].log.add(t, "assessed", track=e.track, effector=e.effector,
                               engagement=e.id, detail=result)
        if result == "killed":
            self.tracks.drop(e.track_key)
