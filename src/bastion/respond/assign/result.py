"""The :class:`Assignment` returned by :func:`bastion.respond.assign.solve`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Assignment"]


@dataclass(frozen=True, eq=False)
class Assignment:
    """Shots per (weapon, target) and what they are worth.

    ``objective`` = ``surviving_value`` + cost_weight · Σ cost_i · shots_i. ``lower_bound`` is
    a proven lower bound on the optimal objective when the method produced one (``None``
    otherwise); ``optimal`` is True when the objective is proven optimal (to a relative 1e-6).
    """

    shots: NDArray[np.int64]
    objective: float
    surviving_value: float
    lower_bound: float | None
    optimal: bool
    method: str
    time_s: float

    def pairs(self) -> list[tuple[int, int, int]]:
        """(weapon, target, shots) for every engaged pair, weapon-major order."""
        w, t = np.nonzero(self.shots)
        return [(int(i), int(j), int(self.shots[i, j])) for i, j in zip(w, t, strict=True)]

    @property
    def gap(self) -> float | None:
        """Relative gap (objective − lower bound) / objective, or None without a bound."""
        if self.lower_bound is None:
            return None
        if self.objective <= 0.0:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / self.objective)
