"""Fingerprints of replications: a SHA-256 of each replication's outcome row and event log.

A refactor that must not change results (e.g. moving code between stages) is checked by
fingerprinting before and after and comparing:

    python bench/fingerprint.py khmeimim-2018 khmeimim-2025 --runs 128 --out before.json
    ... change the code ...
    python bench/fingerprint.py khmeimim-2018 khmeimim-2025 --runs 128 --check before.json

Floats are hashed by their bytes (bit for bit), NaN included; the event table by its Arrow
IPC serialisation, so column types and order count too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys

import pyarrow as pa

from bastion.scenario import load_scenario
from bastion.sim.engine import BLOCK, simulate_block


def _table_digest(t: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _row_digest(row: dict[str, float]) -> str:
    h = hashlib.sha256()
    for k in sorted(row):
        h.update(k.encode() + b"=" + struct.pack("<d", float(row[k])) + b";")
    return h.hexdigest()


def fingerprints(name: str, runs: int) -> dict[str, dict[str, str]]:
    sc = load_scenario(name)
    out: dict[str, dict[str, str]] = {}
    for start in range(0, runs, BLOCK):
        for r in simulate_block(sc, list(range(start, min(runs, start + BLOCK)))):
            out[str(r.replication)] = {"outcome": _row_digest(r.outcome),
                                       "events": _table_digest(r.events)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--runs", type=int, default=128)
    ap.add_argument("--out", default="")
    ap.add_argument("--check", default="")
    a = ap.parse_args()
    got = {name: fingerprints(name, a.runs) for name in a.scenarios}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
    if a.check:
        with open(a.check) as f:
            want = json.load(f)
        bad = [(n, r, part) for n in got for r in got[n] for part in ("outcome", "events")
               if want.get(n, {}).get(r, {}).get(part) != got[n][r][part]]
        for n, r, part in bad[:20]:
            print(f"DIFFERS: {n} replication {r} {part}")
        total = sum(len(v) for v in got.values())
        print(f"{total - len({(n, r) for n, r, _ in bad})} of {total} replications identical")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
