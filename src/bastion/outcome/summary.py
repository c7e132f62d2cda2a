"""summary.json and the terminal summary of a Monte Carlo result."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.montecarlo import MonteCarloResult

__all__ = ["summary_dict", "write_summary", "zero_event_upper95"]


def zero_event_upper95(n: int) -> float:
    """One-sided 95 % upper bound on the chance of an event seen in none of ``n`` independent
    replications: the exact binomial bound 1 − 0.05^(1/n) (≈ 3/n, the "rule of three")."""
    return float(1.0 - 0.05 ** (1.0 / n))


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def summary_dict(mc: MonteCarloResult) -> dict[str, Any]:
    ref = mc.scenario.reference_outcome
    return _clean({
        "provenance": mc.provenance(),
        "runs": mc.runs,
        "wall_s": mc.wall_s,
        "replications_per_s": mc.runs / mc.wall_s if mc.wall_s > 0 else None,
        "steps_per_replication": mc.steps / mc.runs,
        "outcomes": mc.summary(),
        "reference_outcome": (
            {k: {"value": f.value, "source": f.source} for k, f in ref.figures.items()}
            if ref else None),
        "representative_replication": mc.representative.replication,
    })


def write_summary(mc: MonteCarloResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary_dict(mc), indent=2, sort_keys=False) + "\n")
    return path
