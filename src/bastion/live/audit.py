"""The append-only, hash-chained audit log (docs/live.md, "Audit log").

Each record is ``(seq, time_utc, who, action, target, detail, prev_hash, hash)`` with
``hash = SHA-256(prev_hash ‖ canonical record)``; the first record's ``prev_hash`` is 64
zeros. The canonical record is the JSON object of seq, time_utc, who, action, target and
detail (detail as its stored text), keys sorted, no spaces, UTF-8: any changed byte of any
field, a removed or inserted row, or a reordering breaks the chain at that seq. Triggers
refuse UPDATE and DELETE; the chain catches whoever drops them. Removing the newest records
leaves a valid shorter chain: keep the last hash that ``verify`` prints somewhere else to
catch that too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bastion.live.db import Database, DbError
from bastion.live.jsontext import to_json

GENESIS = "0" * 64
MAX_DETAIL_CHARS = 10_000  # a record is a line in a log, not a document
ACTIONS = ("login", "login_failed", "logout", "approve", "approve_failed", "reject",
           "reject_failed", "auto_approve", "expired", "weapons_control", "denied",
           "service_start", "service_stop", "user_add", "user_update")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(seq: int, time_utc: str, who: str, action: str, target: str,
              detail: str) -> bytes:
    rec = {"seq": seq, "time_utc": time_utc, "who": who, "action": action,
           "target": target, "detail": detail}
    return json.dumps(rec, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, record: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + record).hexdigest()


class AuditLog:
    """Appends records; each append is its own durable transaction, so a record that
    ``append`` returned survives a crash of the process the next instant."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, who: str, action: str, target: str = "",
               detail: dict[str, Any] | None = None) -> int:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        text = to_json(detail or {}, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False)
        if len(text) > MAX_DETAIL_CHARS:
            text = to_json({"truncated": text[:MAX_DETAIL_CHARS]}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
        with self.db.write() as conn:
            last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            row = last.fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
            t = utc_now()
            h = chain_hash(prev, canonical(seq, t, who, action, target, text))
            conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (seq, t, who, action, target, text, prev, h))
        return seq

    def newest(self, limit: int) -> list[dict[str, Any]]:
        rows = self.db.read("SELECT seq, time_utc, who, action, target, detail, prev_hash, "
                            "hash FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
        out = []
        for seq, t, who, action, target, detail, prev, h in rows:
            try:
                d = json.loads(str(detail))
            except ValueError:
                d = {"unparsable": detail}
            out.append({"seq": seq, "time_utc": t, "who": who, "action": action,
                        "target": target, "detail": d, "prev_hash": prev, "hash": h})
        return out


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    last_hash: str
    broken_seq: int | None = None
    why: str = ""
    triggers: bool = True  # the append-only triggers are in place


def verify(path: Path | str) -> Verdict:
    """Walk the whole chain; the first broken link names its seq and why.

    Raises DbError when the file is not a bastion database at all."""
    db = Database(path, create=False)
    try:
        names = {r[0] for r in db.read("SELECT name FROM sqlite_master")}
        if "audit" not in names:
            raise DbError(f"{path}: no audit table (not a bastion service database)")
        triggers = {"audit_no_update", "audit_no_delete"} <= names
        prev, expect, n = GENESIS, 1, 0
        cur = db.conn.execute("SELECT seq, time_utc, who, action, target, detail, prev_hash, "
                              "hash FROM audit ORDER BY seq")
        for seq, t, who, action, target, detail, p, h in cur:
            bad = _check(seq, t, who, action, target, detail, p, h, prev, expect)
            if bad:
                # a missing record is named by its own seq, any other by the row's
                at = seq if isinstance(seq, int) and seq <= expect else expect
                return Verdict(False, n, prev, at, bad, triggers)
            prev, expect, n = str(h), seq + 1, n + 1
        return Verdict(True, n, prev, triggers=triggers)
    except sqlite3.Error as exc:
        raise DbError(f"{path}: cannot read the audit table ({exc})") from None
    finally:
        db.close()


def _check(seq: object, t: object, who: object, action: object, target: object,
           detail: object, p: object, h: object, prev: str, expect: int) -> str:
    if not isinstance(seq, int):
        return f"seq is {seq!r}, not an integer"
    if seq != expect:
        return (f"seq {expect} is missing (the next record is {seq})" if seq > expect
                else f"seq {seq} is out of order (expected {expect})")
    fields = (t, who, action, target, detail, p, h)
    if not all(isinstance(f, str) for f in fields):
        return "a field is not text"
    if p != prev:
        return "prev_hash is not the previous record's hash (a record before it was " \
               "changed, removed or inserted)"
    try:
        json.loads(str(detail))
    except ValueError:
        return "detail is not JSON"
    want = chain_hash(prev, canonical(seq, str(t), str(who), str(action), str(target),
                                      str(detail)))
    if h != want:
        return "hash does not match the record (the record was changed)"
    return ""
