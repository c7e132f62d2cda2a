"""The analysis report: summary.json, event and outcome tables, coverage.geojson and
report.html.

Everything is written into a staging folder and swapped in whole (``outcome/output.py``);
each file carries the run's provenance (bastion version, scenario SHA-256, seed, runs), so a
file found on its own can still be traced to the run that made it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from bastion.outcome.output import Staged, staged_output
from bastion.outcome.summary import write_summary

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.montecarlo import MonteCarloResult

__all__ = ["PROVENANCE_KEY", "read_provenance", "report", "write_report"]

PROVENANCE_KEY = b"bastion.provenance"


def _with_provenance(table: pa.Table, prov: dict[str, Any]) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(prov, sort_keys=True).encode()
    return table.replace_schema_metadata(meta)


def read_provenance(parquet_path: str | Path) -> dict[str, Any]:
    """The provenance a bastion Parquet file carries in its schema metadata."""
    meta = pq.read_schema(parquet_path).metadata or {}
    return json.loads(meta.get(PROVENANCE_KEY, b"{}"))


def write_report(mc: MonteCarloResult, out_dir: str | Path) -> Staged:
    """Write every output into ``out_dir`` atomically; the result says where older results
    in ``out_dir`` were moved (``.backup``), if there were any."""
    from bastion.outcome.html import write_html

    prov = mc.provenance()
    with staged_output(out_dir) as st:
        write_summary(mc, st.stage)
        pq.write_table(_with_provenance(mc.outcomes, prov), st.stage / "outcomes.parquet")
        pq.write_table(_with_provenance(mc.events, prov), st.stage / "events.parquet")
        cov = mc.coverage()
        geo = {**cov.to_geojson(), "bastion_provenance": prov}  # a foreign member (RFC 7946)
        (st.stage / "coverage.geojson").write_text(json.dumps(geo), encoding="utf-8")
        write_html(mc, st.stage / "report.html", coverage=cov)
    return st


def report(mc: MonteCarloResult, out_dir: str | Path) -> Path:
    """Write ``summary.json``, ``outcomes.parquet``, ``events.parquet``, ``coverage.geojson``
    and ``report.html`` into ``out_dir`` (atomically; earlier results there move to
    ``out_dir.1``); return the path of ``report.html``."""
    write_report(mc, out_dir)
    return Path(out_dir) / "report.html"
