"""The live operator port: a person answers each proposal (or, weapons free, the doctrine's
automatic mode does).

The engagement book asks :meth:`answer_time`; while nobody has answered it is +inf, so the
book expires the proposal at its deadline (``doctrine.operator.timeout_s`` after it was
proposed, in session time). A person's answer is recorded by :meth:`record` with the
session time it was given; in automatic mode every proposal is answered the moment it is
made (or the moment automatic mode begins, for proposals already waiting).
"""

from __future__ import annotations

import math

from bastion.respond.engagement import Engagement

__all__ = ["AUTOMATIC", "HumanOperator"]

AUTOMATIC = "weapons free (automatic)"


class HumanOperator:
    """Operator port of one live site (group 0)."""

    def __init__(self, automatic: bool = False) -> None:
        self.automatic = automatic
        self.t_auto_s = -math.inf  # automatic mode has been on since then
        self._answers: dict[int, tuple[float, bool, str]] = {}

    def set_automatic(self, on: bool, t_s: float) -> None:
        if on and not self.automatic:
            self.t_auto_s = t_s
        self.automatic = on

    def record(self, e: Engagement, approve: bool, who: str, t_s: float) -> None:
        """A person's answer to a pending proposal at session time ``t_s``."""
        if e.id in self._answers:
            raise ValueError(f"engagement {e.id} was already answered")
        self._answers[e.id] = (max(t_s, e.t_proposed_s), approve, who)

    # ------------------------------------------------------------------ OperatorPort
    def submit(self, group: int, e: Engagement, t_s: float) -> None:
        pass  # shown to the operator through the driver's snapshot and events

    def answer_time(self, group: int, e: Engagement) -> float:
        if e.id in self._answers:
            return self._answers[e.id][0]
        if self.automatic:
            return max(e.t_proposed_s, self.t_auto_s)
        return math.inf

    def answer(self, group: int, e: Engagement) -> tuple[bool, str]:
        if e.id in self._answers:
            _, approve, who = self._answers[e.id]
            return approve, who
        return True, AUTOMATIC
