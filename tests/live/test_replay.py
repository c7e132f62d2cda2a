"""Replay: a live session folder or a simulated replication played back read-only, the
session report, and `bastion replay --print`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from bastion.cli import main
from bastion.live.driver import LiveDriver
from bastion.live.replay import Replay
from tests.live.conftest import Clock, Recorded, feed
from tests.live.test_driver import free_driver


@pytest.fixture(scope="module")
def session(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, LiveDriver]:
    sim = recorded.result
    drv, clock = free_driver(recorded, session_dir=tmp_path_factory.mktemp("s") / "session")
    feed(drv, clock, sim.detections, sim.t_end_s)
    drv.run_until(sim.t_end_s)
    out = drv.close()
    assert out is not None
    return out, drv


def test_a_session_replays_as_it_was_seen(session: tuple[Path, LiveDriver]) -> None:
    folder, drv = session
    clock = Clock(1000.0)
    rp = Replay.from_session(folder, speed=60.0, clock=clock)
    got: list[dict] = []
    rp.subscribe(got.append)
    assert rp.t_s == 0.0
    clock.t += 2.0  # two seconds of wall clock at ×60
    assert rp.t_s == 120.0
    live, again = drv.snapshot(), rp.snapshot(drv.t_s)
    assert [t["id"] for t in again["tracks"]] == [t["id"] for t in live["tracks"]]
    for a, b in zip(again["tracks"], live["tracks"], strict=True):
        assert a == b  # every field, trails included
    assert again["engagements"] == live["engagements"]
    assert again["alerts"] == live["alerts"]
    assert rp.site() == drv.site()
    json.dumps(rp.snapshot())
    rp.tick()
    assert got and all(m["t_s"] <= 120.0 for m in got)
    assert [m["t_s"] for m in got] == sorted(m["t_s"] for m in got)
    clock.t += 1e6
    rp.tick()
    assert rp.done and len(got) == drv.events().num_rows
    with pytest.raises(PermissionError):
        rp.decide(0, True, "op")
    with pytest.raises(PermissionError):
        rp.set_weapons_control("free", "cmdr")
    with pytest.raises(ValueError, match="speed"):
        Replay.from_session(folder, speed=61.0)


def test_a_simulated_replication_replays_the_simulators_tracks(recorded: Recorded) -> None:
    from bastion.sim.session import replication_tables

    sim = recorded.result
    events, tracks, t_end = replication_tables(recorded.scenario, 0)
    assert t_end == sim.t_end_s
    rp = Replay(recorded.scenario, events, tracks, clock=Clock())
    tr = sim.trace
    # at every step the simulator recorded, the same confirmed tracks at the same places
    # (but the step at which a killed track is dropped, which replay shows once more)
    kill_steps = {round(e["t_s"] / 2.0 + 0.5) * 2.0 for e in events.to_pylist()
                  if e["kind"] == "assessed" and e["detail"] == "killed"}
    checked = 0
    for t in np.unique(tr["track_t"]):
        if any(abs(t - k) <= 2.0 for k in kill_steps):
            continue
        at = tr["track_t"] == t
        snap = {x["id"]: x for x in rp.snapshot(float(t))["tracks"]}
        assert set(snap) == set(tr["track_id"][at].tolist())
        checked += 1
    assert checked > 50
    assert any(e["state"] == "assessed" for e in rp.snapshot(t_end)["engagements"])


def test_the_report_is_made_from_a_live_session(session: tuple[Path, LiveDriver],
                                               tmp_path: Path) -> None:
    folder, drv = session
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as ex:
        main(["report", str(folder), "--out", str(out)])
    assert ex.value.code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "small-site" in html
    summ = json.loads((out / "summary.json").read_text())
    assert summ["runs"] == 1
    shots = sum(v for k, v in summ["outcomes"].items() if k.startswith("shots:")
                for v in [v["mean"]])
    assert shots == len([e for e in drv.events().to_pylist() if e["kind"] == "fired"]) > 0


def test_replay_print_one_line_per_second(session: tuple[Path, LiveDriver],
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import time

    folder, drv = session
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    with pytest.raises(SystemExit) as ex:
        main(["replay", str(folder), "--speed", "60", "--print"])
    assert ex.value.code == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("t=")]
    assert len(lines) == int(np.ceil(drv.t_s)) + 1
    assert all(s == pytest.approx(1 / 60) for s in slept)
    assert "engagements:" in lines[-1]


def test_a_replay_is_served_read_only(session: tuple[Path, LiveDriver],
                                      tmp_path: Path) -> None:
    """`bastion replay FOLDER` (no --print) is the real service on a real socket: login
    as for serve, the picture with the replayed tracks, decisions refused (409), nothing
    audited as a decision, and the service stops cleanly."""
    import signal

    import httpx

    from bastion.live.audit import verify
    from tests.live.conftest import PASSWORDS, add_users
    from tests.live.test_serve import _audit, _start

    folder, drv = session
    db = tmp_path / "bastion.db"
    add_users(db)
    proc, url = _start(["bastion", "replay", str(folder), "--speed", "60", "--port", "0",
                        "--db", str(db)], tmp_path / "log.txt")
    try:
        assert httpx.get(url + "/api/picture").status_code == 401  # login as usual
        c = httpx.Client(base_url=url, timeout=10)
        r = c.post("/api/login", json={"username": "otto", "password": PASSWORDS["otto"]})
        assert r.status_code == 200
        deadline = time.monotonic() + 60
        while True:
            pic = c.get("/api/picture").json()
            if (pic["tracks"] and pic["engagements"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert pic["tracks"], "no replayed tracks within a minute"
        assert pic["replay"]["speed"] == 60 and pic["replay"]["t_end_s"] == drv.t_s
        assert {t["id"] for t in pic["tracks"]} <= {i for i in drv.tracks_table()
                                                    .column("id").to_pylist()}
        assert c.get("/api/site").json() == drv.site()
        eid = pic["engagements"][0]["id"]
        for path in (f"/api/engagements/{eid}/approve", f"/api/engagements/{eid}/reject"):
            r = c.post(path)
            assert r.status_code == 409 and "replay, read-only" in r.json()["detail"]
        cmdr = httpx.Client(base_url=url, timeout=10)
        r = cmdr.post("/api/login", json={"username": "cora", "password": PASSWORDS["cora"]})
        r = cmdr.post("/api/weapons-control", json={"mode": "free"})
        assert r.status_code == 409 and "replay, read-only" in r.json()["detail"]
        assert c.get("/api/picture").json()["weapons_control"] == pic["weapons_control"]
        viewer = httpx.Client(base_url=url, timeout=10)
        viewer.post("/api/login", json={"username": "vera", "password": PASSWORDS["vera"]})
        assert viewer.post(f"/api/engagements/{eid}/approve").status_code == 403
        time.sleep(0.5)  # a few pictures: the replayed decisions must not be audited
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, (tmp_path / "log.txt").read_text()
    actions = [a for _, _, a, _ in _audit(db)]
    assert actions[0] == "service_start" and actions[-1] == "service_stop"
    assert not {"approve", "reject", "auto_approve", "expired", "weapons_control"} & \
        set(actions)
    assert verify(db).ok
