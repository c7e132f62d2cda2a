"""A live session's folder, read back: what :meth:`LiveDriver.close` wrote.

    events.parquet   the event log (the simulator's schema, replication 0)
    tracks.parquet   confirmed track states per step (``driver.TRACK_SCHEMA``)
    scenario.json    the scenario the session ran (site, sensors, effectors, doctrine)
    summary.json     provenance, counters, engagements, outcome figures
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from bastion.core.events import read_events
from bastion.scenario.load import validate_dict
from bastion.scenario.schema import Scenario

__all__ = ["Session", "is_session", "read_session"]

FILES = ("events.parquet", "tracks.parquet", "scenario.json", "summary.json")


@dataclass(frozen=True)
class Session:
    folder: Path
    scenario: Scenario
    events: pa.Table
    tracks: pa.Table
    summary: dict[str, Any]

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.summary.get("provenance", {}))


def is_session(folder: str | Path) -> bool:
    return all((Path(folder) / f).is_file() for f in FILES)


def read_session(folder: str | Path) -> Session:
    """Read a session folder; a missing or unreadable part is a short ``ValueError``."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise ValueError(f"{folder}: not a live session folder (no {', '.join(missing)})")
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        data = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{folder}: unreadable summary.json or scenario.json: {exc}") from None
    if not isinstance(summary, dict) or not isinstance(data, dict):
        raise ValueError(f"{folder}: summary.json and scenario.json must hold objects")
    sc = validate_dict(data, str(folder / "scenario.json"), check_assumptions=False)
    try:
        tracks = pq.read_table(folder / "tracks.parquet")
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{folder / 'tracks.parquet'}: unreadable: {exc}") from None
    return Session(folder, sc, read_events(folder / "events.parquet"), tracks, summary)
