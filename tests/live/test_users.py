"""`bastion users add`: the password only from stdin, weak ones refused, roles checked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bastion import cli
from bastion.live.auth import Users, password_problem
from bastion.live.db import Database

ROOT = Path(__file__).resolve().parents[2]


def _add(monkeypatch, capsys, stdin: str, *argv: str) -> tuple[int, str, str]:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as ei:
        cli.main(["users", "add", *argv])
    out, err = capsys.readouterr()
    return int(ei.value.code), out, err


def test_add_then_log_in(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "s.db"
    code, out, _ = _add(monkeypatch, capsys, "long-enough-pass-42\n", "ana", "--role",
                        "operator", "--db", str(db))
    assert code == 0 and "added ana (operator)" in out
    users = Users(Database(db))
    u = users.authenticate("ana", "long-enough-pass-42")
    assert u is not None and u.role == "operator"
    assert users.authenticate("ana", "long-enough-pass-43") is None
    stored = sqlite3.connect(db).execute("SELECT pw_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "long-enough" not in stored
    actions = sqlite3.connect(db).execute("SELECT who, action, target FROM audit").fetchall()
    assert actions == [("cli", "user_add", "ana")]
    # a second add is refused; --replace changes the role and ends the user's sessions
    token = users.new_session(u)
    code, _, err = _add(monkeypatch, capsys, "another-long-pass-7\n", "ana", "--role",
                        "viewer", "--db", str(db))
    assert code == 2 and "exists" in err
    code, out, _ = _add(monkeypatch, capsys, "another-long-pass-7\n", "ana", "--role",
                        "viewer", "--db", str(db), "--replace")
    assert code == 0 and "updated" in out
    assert users.session_user(token) is None
    assert users.authenticate("ana", "another-long-pass-7").role == "viewer"


@pytest.mark.parametrize(("stdin", "frag"), [
    ("\n", "empty"), ("", "empty"), ("short1!\n", "at least 12"),
    ("aaaaaaaaaaaaaaaa\n", "too few different"), ("zed-the-user-zed-99\n", "user name"),
    ("Password123456!\n", "well-known"),
])
def test_weak_passwords_refused(tmp_path, monkeypatch, capsys, stdin, frag) -> None:
    code, _, err = _add(monkeypatch, capsys, stdin, "zed-the-user", "--role", "viewer",
                        "--db", str(tmp_path / "s.db"))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and frag in lines[0], err


@pytest.mark.parametrize(("argv", "frag"), [
    (["bob", "--role", "admin"], "--role"),
    (["bad name!", "--role", "viewer"], "user name"),
    (["bob", "--role", "viewer", "--password", "x"], "No such option"),
])
def test_bad_arguments(tmp_path, monkeypatch, capsys, argv, frag) -> None:
    code, _, err = _add(monkeypatch, capsys, "long-enough-pass-42\n", *argv, "--db",
                        str(tmp_path / "s.db"))
    assert code == 2 and frag in err, err


def test_password_problem_accepts_a_passphrase() -> None:
    assert password_problem("ana", "correct horse battery staple") is None
    assert password_problem("ana", "x" * 2000) is not None


def test_password_from_a_pipe_in_a_real_process(tmp_path) -> None:
    db = tmp_path / "s.db"
    r = subprocess.run([sys.executable, "-m", "bastion", "users", "add", "kim", "--role",
                        "commander", "--db", str(db)], input="piped-pass-phrase-1\n",
                       capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src"),
                                                            "PATH": "/usr/bin:/bin"},
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "piped-pass-phrase-1" not in r.stdout + r.stderr
    assert Users(Database(db)).authenticate("kim", "piped-pass-phrase-1") is not None
