"""The simulated operator: the engagement book's operator port in analysis.

Crews: each site has ``crews`` operator crews (``sites[].crews``, default one) deciding its
effectors' proposals, first come first served by the first crew free (a multi-server
queue per replication and site). A decision takes a lognormal time (``doctrine.operator``).
A proposal whose deadline (``timeout_s``) passes before a crew has decided expires and
releases that crew at the deadline; one no crew reached before its deadline takes none.

The answer is drawn when the book asks for it, from the replication's own stream keyed by
the engagement, so it is the same draw whenever asked. The crew approves a proposal on a
real hostile drone with ``p_approve`` and one on anything else (a bird, an own aircraft, a
false track) with ``1 − p_catch_misid``: the crew catches a share of the identification's
mistakes. Only this simulated operator reads truth (the object really tracked); the stages
never do.

Without a human in the loop every proposal is approved at once; in the automatic
weapons-free mode (``doctrine.automatic_above``, weapons free) so is every proposal on a
track whose P(hostile) reached it, and the rest go to the crews.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtri

from bastion.core.rng import Streams
from bastion.respond.engagement import Engagement
from bastion.scenario.schema import Doctrine

__all__ = ["CrewPool", "OperatorQueue", "SimulatedOperator"]

AUTO = "weapons free (automatic)"


class CrewPool:
    """``n`` crews deciding proposals in order of arrival; each goes to the first crew free."""

    def __init__(self, n: int = 1) -> None:
        self.free_at_s = [0.0] * max(int(n), 1)

    def schedule(self, t_s: float, service_s: float, deadline_s: float = math.inf) -> float:
        """When the proposal made at ``t_s`` is decided (inf: not before its deadline). A
        crew still deciding at the deadline is released then (the proposal expired)."""
        c = min(range(len(self.free_at_s)), key=self.free_at_s.__getitem__)
        start = max(t_s, self.free_at_s[c])
        if start >= deadline_s:
            return math.inf  # no crew reached it in time: it expires, no crew is taken
        done = start + service_s
        self.free_at_s[c] = min(done, deadline_s)
        return done


OperatorQueue = CrewPool  # one crew: the single-server queue of before


class SimulatedOperator:
    """Operator port for the groups of a block; ``streams[g]`` is group g's replication.

    ``effector_site[w]``: the site (index) whose crews decide effector w's proposals;
    ``crews[s]``: crews at site s; ``true_kind(g, track_key)``: the class (0 hostile drone,
    1 bird, 2 own aircraft, -1 nothing real) of what the track really follows.
    """

    WHO = "simulated operator"

    def __init__(self, doctrine: Doctrine, streams: list[Streams],
                 effector_site: list[int] | None = None, crews: list[int] | None = None,
                 true_kind: Callable[[int, int], int] | None = None) -> None:
        self.doctrine, self.streams = doctrine, streams
        self.effector_site = effector_site
        crews = crews or [1]
        self.pools = [[CrewPool(n) for n in crews] for _ in streams]
        self.true_kind = true_kind
        self._t_answer: list[dict[int, float]] = [{} for _ in streams]
        self._auto: list[set[int]] = [set() for _ in streams]
        self._kind: list[dict[int, int]] = [{} for _ in streams]

    def _automatic(self, e: Engagement) -> bool:
        dc = self.doctrine
        if not dc.human_in_loop:
            return True
        return (dc.automatic_above is not None and dc.weapons_control == "free"
                and e.p_hostile >= dc.automatic_above)

    def submit(self, group: int, e: Engagement, t_s: float) -> None:
        if self._automatic(e):
            self._auto[group].add(e.id)
            self._t_answer[group][e.id] = t_s
            return
        op = self.doctrine.operator
        u = self.streams[group].uniform("operator", e.id, 0, np.array([0, 1]))
        service = op.decision_time_s * math.exp(op.decision_time_sigma * float(ndtri(u[0])))
        site = self.effector_site[e.effector] if self.effector_site else 0
        if self.true_kind is not None:
            self._kind[group][e.id] = self.true_kind(group, e.track_key)
        self._t_answer[group][e.id] = self.pools[group][site].schedule(
            t_s, service, t_s + op.timeout_s)

    def answer_time(self, group: int, e: Engagement) -> float:
        return self._t_answer[group][e.id]

    def answer(self, group: int, e: Engagement) -> tuple[bool, str]:
        if e.id in self._auto[group]:
            return True, AUTO
        op = self.doctrine.operator
        u = self.streams[group].uniform("operator", e.id, 0, np.array([0, 1]))
        kind = self._kind[group].get(e.id, 0)
        p = op.p_approve if kind == 0 else 1.0 - op.p_catch_misid
        return bool(u[1] < p), self.WHO
