"""The append-only, versioned event log: the contract between drivers.

Every reported figure is derived from the event log plus the scenario. Rows are appended
as plain tuples during a run (events are rare: tens to hundreds per replication) and
become one Arrow table at the end, with the schema version in its metadata.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["EVENT_KINDS", "EVENT_SCHEMA", "SCHEMA_VERSION", "EventLog", "read_events"]

SCHEMA_VERSION = "1"

EVENT_KINDS = (
    "launched", "detected", "confirmed", "identified", "proposed", "approved", "rejected",
    "expired", "fired", "hit", "missed", "assessed", "killed", "forced_down", "spoofed",
    "gnss_denied", "failsafe", "leaked", "asset_hit", "returned", "out_of_fuel",
    "shot_at_bird", "shot_at_own", "nfz_impact", "jammer_on", "jammer_off",
    "own_aircraft_jammed", "intrusion", "intrusion_alarm", "nuisance_alarm",
    "intruders_stopped", "intruders_reached_asset", "own_aircraft_jam_end", "link_lost",
)

EVENT_SCHEMA = pa.schema(
    [
        ("replication", pa.int32()),
        ("t_s", pa.float64()),
        ("kind", pa.string()),
        ("drone", pa.int32()),  # truth row of a hostile drone, -1 if none
        ("track", pa.int64()),
        ("effector", pa.int32()),
        ("engagement", pa.int32()),
        ("x_m", pa.float64()),
        ("y_m", pa.float64()),
        ("z_m", pa.float64()),
        ("value", pa.float64()),
        ("detail", pa.string()),
    ],
    metadata={"bastion.events.schema_version": SCHEMA_VERSION},
)

_NAN = math.nan


class EventLog:
    def __init__(self, replication: int) -> None:
        self.replication = replication
        self.rows: list[tuple] = []

    def add(self, t_s: float, kind: str, *, drone: int = -1, track: int = -1,
            effector: int = -1, engagement: int = -1, xyz: object = None,
            value: float = _NAN, detail: str = "") -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        x = y = z = _NAN
        if xyz is not None:
            x, y, z = (float(v) for v in xyz)  # type: ignore[union-attr]
        self.rows.append((self.replication, float(t_s), kind, int(drone), int(track),
                          int(effector), int(engagement), x, y, z, float(value), detail))

    def table(self) -> pa.Table:
        rows = sorted(self.rows, key=lambda r: r[1])
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in EVENT_SCHEMA]
        return pa.table({f.name: pa.array(c, type=f.type) for f, c in
                          zip(EVENT_SCHEMA, cols, strict=True)}, schema=EVENT_SCHEMA)


def read_events(path: str | Path) -> pa.Table:
    t = pq.read_table(path)
    ver = (t.schema.metadata or {}).get(b"bastion.events.schema_version", b"?").decode()
    if ver != SCHEMA_VERSION:
        raise ValueError(f"{path}: event log schema version {ver}, this bastion reads "
                         f"{SCHEMA_VERSION}")
    return t
