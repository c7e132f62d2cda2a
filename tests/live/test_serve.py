"""`bastion serve` as a process: start, stop on SIGTERM (driver closed, stop audited), and
kill -9 mid-stream loses no answered approval."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bastion import cli
from bastion.live.audit import verify
from tests.live.conftest import PASSWORDS, add_users

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}


def _start(args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    with open(log, "w") as f:  # the child has its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", *args], stdout=f,
                                stderr=subprocess.STDOUT, env=ENV, cwd=ROOT)
    deadline = time.monotonic() + 60
    while True:
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", log.read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {log.read_text()}")
        time.sleep(0.05)


def _audit(db: Path) -> list[tuple[int, str, str, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT seq, who, action, target FROM audit ORDER BY seq").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly(tmp_path, sig) -> None:
    sess = tmp_path / "night" / "one"
    db = tmp_path / "night" / "bastion.db"  # beside the session folder
    if sig == signal.SIGINT:
        add_users(db)
    proc, url = _start(["tests.live.stub_serve", "serve", "khmeimim-2018", "--port", "0",
                        "--session-dir", str(sess), "--sapient-port", "0"],
                       tmp_path / "log.txt")
    closed: list[bool] = []
    try:
        assert httpx.get(url + "/api/picture").status_code == 401
        no_users = "bastion users add NAME --role commander" in (tmp_path / "log.txt").read_text()
        assert no_users == (sig == signal.SIGTERM)
        if sig == signal.SIGINT:  # an open WebSocket does not hold the shutdown up
            r = httpx.post(url + "/api/login",
                           json={"username": "vera", "password": PASSWORDS["vera"]})
            watcher = threading.Thread(target=_watch_ws, args=(url, r.cookies, closed))
            watcher.start()
            time.sleep(0.5)
    finally:
        proc.send_signal(sig)
        code = proc.wait(30)
    if sig == signal.SIGINT:
        watcher.join(10)
        assert closed == [True]
    log = (tmp_path / "log.txt").read_text()
    assert code == 0, log
    assert f"stopped; session: {sess}" in log
    assert (sess / "events.parquet").read_text() == "stub; raids seen: 0"  # raids ignored
    actions = [a for _, _, a, _ in _audit(db)]
    assert actions[0] == "service_start" and actions[-1] == "service_stop"
    assert verify(db).ok


def _watch_ws(url: str, cookies: httpx.Cookies, closed: list[bool]) -> None:
    import asyncio

    import websockets

    async def run() -> None:
        hdr = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        async with websockets.connect(url.replace("http", "ws") + "/ws",
                                      additional_headers=hdr) as w:
            try:
                while True:
                    await asyncio.wait_for(w.recv(), 20)
            except websockets.exceptions.ConnectionClosed:
                closed.append(True)

    asyncio.run(run())


def test_serve_refuses_bad_setups(tmp_path, capsys, monkeypatch) -> None:
    def run(*argv: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as ei:
            cli.main(["serve", *argv])
        return int(ei.value.code), capsys.readouterr().err

    code, err = run("no-such-scenario", "--session-dir", str(tmp_path / "s"))
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    used = tmp_path / "used"
    used.mkdir()
    (used / "events.parquet").write_text("an earlier session")
    code, err = run("khmeimim-2018", "--session-dir", str(used))
    assert code == 2 and "never written over" in err
    code, err = run("khmeimim-2018", "--session-dir", str(tmp_path / "s"),
                    "--weapons-control", "fire")
    assert code == 2 and "--weapons-control" in err
    for url, why in (("udp://224.0.0.1:6969", "multicast"), ("http://127.0.0.1:8087",
                                                             "expected tcp://")):
        code, err = run("khmeimim-2018", "--session-dir", str(tmp_path / "s"), "--cot", url)
        assert code == 2 and err.startswith(f"error: --cot {url}: ") and why in err, err
        assert len(err.strip().splitlines()) == 1
    bad_db = tmp_path / "bad.db"
    bad_db.write_bytes(b"garbage" * 1000)
    code, err = run("khmeimim-2018", "--session-dir", str(tmp_path / "s"), "--db", str(bad_db))
    assert code == 2 and "not a bastion database" in err
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, err = run("khmeimim-2018", "--session-dir", str(tmp_path / "s"), "--port",
                        str(busy.getsockname()[1]))
    assert code == 2 and "cannot listen" in err
    monkeypatch.setitem(sys.modules, "bastion.live.driver", None)
    code, err = run("khmeimim-2018", "--session-dir", str(tmp_path / "s"), "--port", "0")
    assert code == 2 and "not in this build" in err


def test_kill_9_loses_no_answered_approval(tmp_path, capsys) -> None:
    db = tmp_path / "bastion.db"
    add_users(db)
    proc, url = _start(["tests.live.fake_serve", str(db)], tmp_path / "log1.txt")
    answered: list[int] = []
    stop = threading.Event()

    def approver(parity: int) -> None:
        c = httpx.Client(base_url=url, timeout=5)
        r = c.post("/api/login", json={"username": "otto", "password": PASSWORDS["otto"]})
        assert r.status_code == 200
        while not stop.is_set():
            try:
                pic = c.get("/api/picture").json()
                ids = [e["id"] for e in pic["engagements"]
                       if e["state"] == "proposed" and e["id"] % 2 == parity]
                for eid in ids:
                    if c.post(f"/api/engagements/{eid}/approve").status_code == 200:
                        answered.append(eid)
            except httpx.HTTPError:
                return  # the server is gone

    threads = [threading.Thread(target=approver, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(answered) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: both clients are still approving
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(answered) >= 40
    # restart on the same database: it opens, serves and keeps its chain
    proc2, url2 = _start(["tests.live.fake_serve", str(db)], tmp_path / "log2.txt")
    try:
        r = httpx.post(url2 + "/api/login",
                       json={"username": "cora", "password": PASSWORDS["cora"]})
        assert r.status_code == 200
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.wait(30)
    with pytest.raises(SystemExit) as ei:
        cli.main(["audit", "verify", str(db)])
    assert ei.value.code == 0, capsys.readouterr()
    rows = _audit(db)
    starts = [seq for seq, _, a, _ in rows if a == "service_start"]
    assert len(starts) == 2
    first_run = [r for r in rows if r[0] < starts[1]]
    approved = {int(t.split()[1]) for _, who, a, t in first_run
                if a == "approve" and who == "otto"}
    assert set(answered) <= approved
    assert "service_stop" not in [a for _, _, a, _ in first_run]  # it really was killed
