"""The analysis report: summary.json, event and outcome tables, and report.html."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from bastion.outcome.summary import write_summary

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.montecarlo import MonteCarloResult

__all__ = ["report"]


def report(mc: MonteCarloResult, out_dir: str | Path) -> Path:
    """Write ``summary.json``, ``outcomes.parquet``, ``events.parquet`` and ``report.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_summary(mc, out)
    pq.write_table(mc.outcomes, out / "outcomes.parquet")
    pq.write_table(mc.events, out / "events.parquet")
    from bastion.outcome.html import write_html

    return write_html(mc, out / "report.html")
