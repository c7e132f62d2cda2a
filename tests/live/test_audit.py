"""The audit log: append-only, hash-chained, and `bastion audit verify` names the first
broken link."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion import cli
from bastion.live.audit import GENESIS, AuditLog, verify
from bastion.live.db import Database, DbError


def _log(path: Path, n: int = 5) -> None:
    db = Database(path)
    a = AuditLog(db)
    for k in range(n):
        a.append(f"user{k}", "approve", f"engagement {k}", {"k": k, "note": "ünïcode ✓"})
    db.close()


def _bastion(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return int(ei.value.code), out, err


def _tamper(path: Path, sql: str, args: tuple = ()) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute(sql, args)
    con.commit()
    con.close()


def test_chain_links_and_verifies(tmp_path, capsys) -> None:
    p = tmp_path / "a.db"
    _log(p)
    v = verify(p)
    assert v.ok and v.records == 5 and v.triggers
    rows = sqlite3.connect(p).execute("SELECT seq, prev_hash, hash FROM audit").fetchall()
    assert rows[0][1] == GENESIS
    assert all(rows[k][1] == rows[k - 1][2] for k in range(1, 5))
    code, out, _ = _bastion(capsys, "audit", "verify", str(p))
    assert code == 0 and "OK: 5 records" in out and rows[-1][2] in out


def test_update_and_delete_refused(tmp_path) -> None:
    p = tmp_path / "a.db"
    _log(p)
    con = sqlite3.connect(p)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit SET who = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit WHERE seq = 5")
    con.close()
    assert verify(p).ok


@pytest.mark.parametrize(("sql", "seq", "why"), [
    ("UPDATE audit SET detail = '{\"k\":99}' WHERE seq = 3", 3, "record was changed"),
    ("UPDATE audit SET who = 'mallory' WHERE seq = 1", 1, "record was changed"),
    # (a hash that happened to start with "ab" was left as it was: 1 run in 256 failed)
    ("UPDATE audit SET hash = CASE WHEN substr(hash, 1, 2) = 'ab' THEN 'cd' ELSE 'ab' END"
     " || substr(hash, 3) WHERE seq = 2", 2, "record was changed"),
    ("DELETE FROM audit WHERE seq = 4", 4, "missing"),
    ("UPDATE audit SET detail = 'not json' WHERE seq = 5", 5, "not JSON"),
])
def test_tampering_names_the_seq(tmp_path, capsys, sql, seq, why) -> None:
    p = tmp_path / "a.db"
    _log(p)
    _tamper(p, sql)
    v = verify(p)
    assert not v.ok and v.broken_seq == seq and why in v.why and not v.triggers
    code, out, err = _bastion(capsys, "audit", "verify", str(p))
    assert code == 1 and f"BROKEN at seq {seq}" in out and "triggers are missing" in err


def test_rehashing_one_record_breaks_the_next_link(tmp_path) -> None:
    """A forger who recomputes the changed record's hash still breaks its successor."""
    from bastion.live.audit import canonical, chain_hash

    p = tmp_path / "a.db"
    _log(p)
    con = sqlite3.connect(p)
    seq, t, who, action, target, _, prev = con.execute(
        "SELECT seq, time_utc, who, action, target, detail, prev_hash FROM audit "
        "WHERE seq = 2").fetchone()
    con.close()
    forged = chain_hash(prev, canonical(seq, t, who, action, target, '{"k":1}'))
    _tamper(p, "UPDATE audit SET detail = '{\"k\":1}', hash = ? WHERE seq = 2", (forged,))
    v = verify(p)
    assert not v.ok and v.broken_seq == 3 and "prev_hash" in v.why


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 4), col=st.sampled_from(["time_utc", "who", "action", "target",
                                                   "detail"]),
       junk=st.text(min_size=1, max_size=8))
def test_any_changed_field_is_caught(tmp_path_factory, seq, col, junk) -> None:
    p = tmp_path_factory.mktemp("h") / "a.db"
    _log(p, 4)
    _tamper(p, f"UPDATE audit SET {col} = {col} || ? WHERE seq = ?", (junk, seq))
    v = verify(p)
    assert not v.ok and v.broken_seq == seq


def test_bad_files_are_one_line_errors(tmp_path, capsys) -> None:
    garbage = tmp_path / "g.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    other = tmp_path / "o.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for path, frag in ((tmp_path / "none.db", "no such file"), (garbage, "not a bastion"),
                       (other, "no audit table"), (tmp_path, "no such file")):
        with pytest.raises(DbError):
            verify(path)
        code, _, err = _bastion(capsys, "audit", "verify", str(path))
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1 and frag in lines[0], err
    assert not (tmp_path / "none.db").exists()  # verify creates nothing


def test_empty_log_verifies(tmp_path) -> None:
    p = tmp_path / "a.db"
    Database(p).close()
    v = verify(p)
    assert v.ok and v.records == 0
