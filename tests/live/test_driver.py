"""The live driver on a simulated replication's recorded reports: the simulator's
decisions from the same reports, weapons control, the operator's countdown in session time,
late reports, the picture JSON and the session folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.events import read_events
from bastion.live.driver import LiveDriver
from bastion.scenario.load import with_overrides
from tests.live.conftest import Clock, Recorded, feed, live_scenario, rows
from tests.live.parity import kinds, parity


def free_driver(rec: Recorded, **kw: Any) -> tuple[LiveDriver, Clock]:
    sim = rec.result
    results = {e.id: e.result for e in sim.engagements if e.result}
    clock = Clock(0.0)
    # the simulator's kill assessment stands in for the site's (its drones stop being
    # reported once killed, so the recorded stream already holds the kills)
    drv = LiveDriver(rec.scenario, session_dir=kw.pop("session_dir", None), clock=clock,
                     epoch_utc=0.0, weapons_control="free", track_id_base=0,
                     assessment=lambda eid, track, t: results.get(eid, "unknown"), **kw)
    return drv, clock


@pytest.fixture(scope="module")
def recorded_khmeimim() -> Recorded:
    from bastion.scenario import load_scenario
    from bastion.sim.engine import simulate

    # birds fly straight (no weave) and identification leaves out the manoeuvre evidence:
    # the live tracker, fed a scan whole when it completes, ends a few metres and cm/s from
    # the simulator's on a turning object, and a heading rate (a difference of velocities)
    # carries that into P(hostile) enough to move a marginal proposal by an epoch
    sc = with_overrides(load_scenario("khmeimim-2018"), {"doctrine.human_in_loop": False,
                                                         "wind.speed_sigma_mps": 0.0})
    # Replication 0: the simulator tracks replication r in a slot offset by r × ~1,000 km
    # (lock-step blocks share one tracker), so for r > 0 its track states differ from the
    # live driver's in the last bits, and a plan that is a near-tie (two equally good
    # weapon-target pairs) can then fall either way; slot 0 is exact arithmetic.
    return Recorded(sc, simulate(sc, 0, record=True, detections=True))


@pytest.mark.parametrize("which", ["recorded", "recorded_khmeimim"])
def test_same_reports_same_tracks_and_decisions_as_the_simulator(
        which: str, request: pytest.FixtureRequest) -> None:
    recorded: Recorded = request.getfixturevalue(which)
    sim = recorded.result
    tasks: list[tuple[str, int, dict[str, Any]]] = []
    drv, clock = free_driver(recorded, reorder_wait_s=1.0,
                             tasker=lambda n, e, s: tasks.append((n, e, s)))
    # every report arrives up to 0.9 s late, shuffled across sensors and scans
    feed(drv, clock, sim.detections, sim.t_end_s, jitter_s=0.9, seed=3)
    drv.run_until(sim.t_end_s)
    assert drv.counters["late"] == 0 and drv.counters["reports"] == sim.detections.m
    # confirmed tracks against truth by GOSPA; proposals by target drone and effector
    par = parity(sim, drv)
    print(par)
    assert par.gospa_rel <= 0.05
    assert par.proposals_sim and par.proposals_live == par.proposals_sim
    # every shot and every jammer switch went to the tasker, by effector name
    names = [e.name for e in recorded.scenario.effectors]
    want = sorted((names[e["effector"]], e["kind"]) for e in drv.events().to_pylist()
                  if e["kind"] in ("fired", "jammer_on", "jammer_off"))
    got = sorted((n, {"fire": "fired"}.get(s["action"], s["action"])) for n, _, s in tasks
                 if s["action"] != "cue")
    assert got == want and any(k == "jammer_on" for _, k in want)


def tight_driver(rec: Recorded, *, p_hostile_tight: float = 0.9, **kw: Any
                 ) -> tuple[LiveDriver, Clock]:
    clock = Clock(0.0)
    sc = with_overrides(rec.scenario, {"doctrine.p_hostile_tight": p_hostile_tight})
    drv = LiveDriver(sc, session_dir=None, clock=clock, epoch_utc=0.0,
                     weapons_control="tight", track_id_base=0, **kw)
    return drv, clock


def first_proposal_time(rec: Recorded) -> float:
    return min(e["t_s"] for e in rec.result.events.to_pylist() if e["kind"] == "proposed")


def test_tight_proposals_wait_for_a_person_and_expire_in_session_time(
        recorded: Recorded) -> None:
    sim = recorded.result
    drv, clock = tight_driver(recorded)
    timeout = recorded.scenario.doctrine.operator.timeout_s
    feed(drv, clock, sim.detections, sim.t_end_s)
    drv.run_until(sim.t_end_s)
    props, expired = kinds(drv, "proposed"), kinds(drv, "expired")
    assert props and not kinds(drv, "approved") and not kinds(drv, "fired")
    # nobody answered: each expired exactly the operator timeout after it was proposed
    by_id = {e["engagement"]: e["t_s"] for e in props}
    assert expired and all(math.isclose(e["t_s"], by_id[e["engagement"]] + timeout)
                           for e in expired)
    # the picture says why each one expired
    shown = {e["id"]: e for e in drv.snapshot()["engagements"]}
    assert {shown[e["engagement"]]["why"] for e in expired} == {
        "operator did not decide in time"}
    with pytest.raises(ValueError, match="expired"):
        drv.decide(expired[0]["engagement"], True, "op")
    with pytest.raises(KeyError):
        drv.decide(10_000, True, "op")


def test_an_approved_engagement_fires_and_tasks_the_effector(recorded: Recorded) -> None:
    sim = recorded.result
    tasks: list[tuple[str, int, dict[str, Any]]] = []
    got: list[dict[str, Any]] = []
    # (at the default 0.9 this raid's tracks hover about the threshold, and an approved
    # engagement is dropped at its fire check as "no longer a threat")
    drv, clock = tight_driver(recorded, p_hostile_tight=0.5,
                              tasker=lambda n, e, s: tasks.append((n, e, s)))
    drv.subscribe(got.append)
    decided: list[dict[str, Any]] = []

    def approve(d: LiveDriver, a: float) -> None:
        for e in d.snapshot()["engagements"]:
            if e["state"] == "proposed" and not decided:
                assert 0 < e["expires_in_s"] <= recorded.scenario.doctrine.operator.timeout_s
                decided.append(d.decide(e["id"], True, "alice"))
    feed(drv, clock, sim.detections, sim.t_end_s, on_tick=approve)
    drv.run_until(sim.t_end_s)
    assert decided and decided[0]["state"] == "approved" and decided[0]["decided_by"] == "alice"
    eid = decided[0]["id"]
    with pytest.raises(ValueError):
        drv.decide(eid, False, "bob")  # decided already
    fired = [e for e in kinds(drv, "fired") if e["engagement"] == eid]
    assert len(fired) == 1
    name = recorded.scenario.effectors[fired[0]["effector"]].name
    assert any(n == name and e == eid and s["action"] == "fire" for n, e, s in tasks)
    assessed = [e for e in kinds(drv, "assessed") if e["engagement"] == eid]
    assert assessed and assessed[0]["detail"] == "unknown"  # nobody reported a result
    evs = [m["kind"] for m in got if m["type"] == "event" and m.get("engagement") == eid]
    assert evs[:4] == ["proposed", "approved", "fired", "assessed"]


def test_weapons_hold_makes_no_proposals_and_free_approves_at_once(recorded: Recorded) -> None:
    sim = recorded.result
    t1 = first_proposal_time(recorded)
    drv, clock = tight_driver(recorded)
    drv.set_weapons_control("hold", "cmdr")
    feed(drv, clock, sim.detections, t1 + 40.0)
    drv.run_until(t1 + 40.0)
    assert not kinds(drv, "proposed")
    assert drv.snapshot()["weapons_control"] == "hold"
    drv.set_weapons_control("free", "cmdr")
    rest = rows(sim.detections, sim.detections.t_s > t1 + 40.0)
    feed(drv, clock, rest, t1 + 200.0)
    drv.run_until(t1 + 200.0)
    props, appr = kinds(drv, "proposed"), kinds(drv, "approved")
    assert props and len(appr) == len(props)
    assert all(a["t_s"] == p["t_s"] for a, p in zip(appr, props, strict=True))
    with pytest.raises(ValueError, match="weapons control"):
        drv.set_weapons_control("loose", "cmdr")


def test_hold_rejects_what_is_pending(recorded: Recorded) -> None:
    sim = recorded.result
    drv, clock = tight_driver(recorded)
    pending: list[dict[str, Any]] = []

    def hold_once(d: LiveDriver, a: float) -> None:
        if not pending:
            pending.extend(e for e in d.snapshot()["engagements"] if e["state"] == "proposed")
            if pending:
                d.set_weapons_control("hold", "cmdr")
    feed(drv, clock, sim.detections, sim.t_end_s, on_tick=hold_once)
    assert pending
    snap = {e["id"]: e for e in drv.snapshot()["engagements"]}
    assert all(snap[e["id"]]["state"] == "rejected" for e in pending)
    assert snap[pending[0]["id"]]["decided_by"] == "weapons hold (cmdr)"
    assert len(snap) == len(pending)  # and nothing proposed after


def test_late_reports_are_counted_and_dropped(recorded: Recorded) -> None:
    sim = recorded.result
    drv, clock = tight_driver(recorded, reorder_wait_s=0.5)
    d = sim.detections
    early = rows(d, d.t_s <= 300.0)
    feed(drv, clock, early, 300.0)
    drv.run_until(300.0)
    before = drv.counters["late"]
    old = rows(d, (d.t_s > 200.0) & (d.t_s <= 290.0))  # long released
    drv.submit(old, node="node-0")
    assert drv.counters["late"] - before == old.m > 0
    with pytest.raises(ValueError):
        drv.submit(_bad_sensor(old), node="node-0")  # no sensor 99 in the scenario
    assert drv.counters["bad_messages"] == 1
    future = rows(d, np.flatnonzero(d.t_s > 300.0)[:1])
    future = type(future)(future.t_s + 2 * 86_400.0, *(getattr(future, f) for f in (
        "sensor", "z", "R", "evidence", "truth", "group")))
    with pytest.raises(ValueError, match="ahead"):
        drv.submit(future, node="node-0")  # a bad clock must not drag the picture along
    assert drv.counters["bad_messages"] == 2 and drv.t_s == 300.0


def test_a_node_read_behind_another_at_x20_is_not_late(recorded: Recorded) -> None:
    """A feed at ×20 whose nodes are read unevenly: the sparse node's connection is read
    200 ms of wall time (4 s of session time, two driver steps) after the busy one's. With
    the reorder wait in session time only (1 s: 50 ms of wall at ×20) its reports fell
    behind the clock and were dropped as late; the wait in wall time too
    (``reorder_wait_wall_s``) keeps them."""
    d = recorded.result.detections
    sensors, counts = np.unique(d.sensor, return_counts=True)
    assert sensors.size >= 2
    lag_s = np.zeros(int(sensors.max()) + 1)
    lag_s[sensors[np.argsort(counts)[0]]] = 0.2  # the sparse node is read behind
    speed, t_end = 20.0, float(recorded.result.t_end_s)

    def play(wait_wall_s: float) -> LiveDriver:
        clock = Clock(0.0)
        drv = LiveDriver(recorded.scenario, session_dir=None, clock=clock, epoch_utc=0.0,
                         reorder_wait_s=1.0, weapons_control="free", track_id_base=0,
                         reorder_wait_wall_s=wait_wall_s)
        arrive = d.t_s / speed + lag_s[d.sensor]
        edges = np.arange(0.0, t_end / speed + 0.2, 0.01)  # the sockets read every 10 ms
        read = np.searchsorted(edges, arrive)  # the read that takes each report
        for k, w in enumerate(edges):
            sel = np.flatnonzero(read == k)
            clock.t = w
            for s in np.unique(d.sensor[sel]):
                drv.submit(rows(d, sel[d.sensor[sel] == s]), node=f"node-{int(s)}")
            drv.tick()
        drv.run_until(t_end)
        return drv

    drv = play(0.5)
    assert drv.counters["reports"] == d.m and drv.counters["late"] == 0
    assert drv.t_s >= t_end - drv.step_s
    assert play(0.0).counters["late"] > 0  # the wait in session time alone


def test_reports_from_before_the_session_are_late(recorded: Recorded) -> None:
    d = recorded.result.detections
    drv, _clock = tight_driver(recorded)
    first = rows(d, np.flatnonzero(d.t_s > 10.0)[:3])
    before = type(first)(first.t_s - 1_000.0, *(getattr(first, f) for f in (
        "sensor", "z", "R", "evidence", "truth", "group")))
    drv.submit(before, node="node-0")
    assert drv.counters["late"] == 3 and drv.buffer.held == 0


def _bad_sensor(d: Any) -> Any:
    from bastion.core.detections import Detections
    return Detections(d.t_s, np.full(d.m, 99), d.z, d.R, d.evidence, d.truth, d.group)


def test_the_picture_is_the_json_of_docs_live(recorded: Recorded, tmp_path: Path) -> None:
    sim = recorded.result
    drv, clock = free_driver(recorded, session_dir=tmp_path / "session")
    clock.t = 0.0
    t_mid = first_proposal_time(recorded) + 10.0
    feed(drv, clock, sim.detections, t_mid)
    drv.run_until(t_mid)
    snap = json.loads(json.dumps(drv.snapshot()))  # JSON-able
    assert set(snap) == {"t_s", "time_utc", "weapons_control", "tracks", "threats",
                         "engagements", "alerts", "sensors", "counters"}
    assert snap["tracks"] and snap["engagements"]
    t = snap["tracks"][0]
    assert set(t) == {"id", "lat", "lon", "alt_m", "speed_mps", "course_deg", "identity", "cls",
                      "p_class", "airframe", "status", "history", "sigma_m", "threat"}
    assert abs(t["lat"] - 35.0) < 0.5 and abs(t["lon"] - 35.0) < 0.5
    assert set(snap["engagements"][0]) == {"id", "track", "effector", "kind", "state",
                                           "result", "pk", "cost_usd", "reason",
                                           "expires_in_s", "decided_by", "task", "why"}
    hostile = {x["id"] for x in snap["tracks"] if x["identity"] == "hostile"}
    alerted = [a["track"] for a in snap["alerts"]]
    assert len(alerted) == len(set(alerted))  # one alert per object, not per sensor
    assert hostile <= set(alerted)
    ttg = {x["id"]: x["threat"]["ttg_s"] for x in snap["tracks"] if x["threat"]}
    assert snap["threats"] == sorted(ttg, key=lambda i: ttg[i])
    site = json.loads(json.dumps(drv.site()))
    assert set(site) == {"name", "origin", "assets", "no_fire_zones", "sensors", "effectors"}
    assert [s["name"] for s in site["sensors"]] == [s.name for s in recorded.scenario.sensors]
    # the session folder
    out = drv.close()
    assert out is not None
    for f in ("events.parquet", "tracks.parquet", "scenario.json", "summary.json"):
        assert (out / f).is_file()
    ev = read_events(out / "events.parquet")
    assert ev.num_rows == drv.events().num_rows and set(ev.column("replication").to_pylist()) == {0}
    assert pq.read_table(out / "tracks.parquet").num_rows == drv.tracks_table().num_rows
    summ = json.loads((out / "summary.json").read_text())
    assert summ["provenance"]["mode"] == "live"


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 4), st.integers(-2, 9), st.floats(allow_nan=True, allow_infinity=True),
       st.one_of(st.floats(-1e7, 1e7), st.just(float("nan"))), st.booleans())
def test_submit_takes_a_batch_whole_or_refuses_it(m: int, sensor: int, t: float, x: float,
                                                  bad_shape: bool) -> None:
    from bastion.core.detections import Detections, K

    drv = LiveDriver(live_scenario(), session_dir=None, clock=lambda: 0.0, epoch_utc=0.0)
    R = np.tile(np.eye(3), (m, 1, 1)) if not bad_shape else np.zeros((m, 2, 2))
    d = Detections(np.full(m, t), np.full(m, sensor), np.full((m, 3), x), R,
                   np.zeros((m, K)), np.full(m, -1), np.zeros(m, np.int64))
    try:
        drv.submit(d, node="n")
    except ValueError:
        assert drv.counters["bad_messages"] == 1 and drv.buffer.held == 0
        return
    assert drv.counters["reports"] == m
    assert drv.counters["late"] + drv.buffer.held == m
    drv.run_until(10.0)  # and the stages take what was accepted


def test_a_served_site_without_raids_writes_its_session_and_shows_the_task(
        recorded: Recorded, tmp_path: Path) -> None:
    """As `bastion serve` runs it: the scenario's raids dropped (no truth drones), reports
    whose tracks belong to no drone; the session folder is written all the same, and each
    fired engagement shows its effector task: sent, then the node's answer."""
    sim = recorded.result
    site = recorded.scenario.model_copy(update={"raids": []})
    sent: list[int] = []

    def tasker(name: str, eid: int, summary: dict[str, Any]) -> str | None:
        if summary["action"] != "fire":
            return None
        sent.append(eid)
        return f"task-{eid}"

    clock = Clock(0.0)
    drv = LiveDriver(site, session_dir=tmp_path / "session", clock=clock, epoch_utc=0.0,
                     weapons_control="free", track_id_base=0, tasker=tasker)
    feed(drv, clock, sim.detections, sim.t_end_s)
    drv.run_until(sim.t_end_s)
    assert sent
    tasks = {e["id"]: e["task"] for e in drv.snapshot()["engagements"]}
    assert all(tasks[eid] == "sent" for eid in sent)
    drv.task_ack("sam", sent[0], "accepted")
    drv.task_ack("sam", 10**9, "accepted")  # an unknown engagement changes nothing
    tasks = {e["id"]: e["task"] for e in drv.snapshot()["engagements"]}
    assert tasks[sent[0]] == "accepted" and 10**9 not in tasks
    folder = drv.close()
    assert folder is not None and (folder / "events.parquet").is_file()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["provenance"]["mode"] == "live" and summary["engagements"]


def test_a_hundred_radars_step_without_overflow() -> None:
    """A site of 100 radars (the load bench's): a track's sensor bits past the 52 a track
    keeps share the last one; before, their shifts wrapped and a track's bits summed past
    2**63 in the float column: 'invalid value encountered in cast' (tracker.py)."""
    import warnings

    from bastion.core.detections import Detections, K
    from bastion.scenario import Frame, load_scenario

    sc = load_scenario("khmeimim-2018")
    radar = next(s for s in sc.sensors if s.kind == "radar")
    sc = sc.model_copy(update={"sensors": [radar.model_copy(update={"name": f"node-{i}"})
                                           for i in range(100)]})
    clock = Clock(0.0)
    drv = LiveDriver(sc, session_dir=None, clock=clock, epoch_utc=0.0,
                     weapons_control="tight", track_id_base=0)
    at = Frame(sc.origin).point(radar.position)
    z = at + np.c_[5_000.0 + 10.0 * np.arange(100), np.full(100, 2_000.0), np.full(100, 300.0)]
    R = np.broadcast_to(np.eye(3) * 100.0, (100, 3, 3)).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in range(1, 201):  # 20 s; the wrap showed after 13
            drv.submit(Detections(n * 0.1 + np.arange(100) * 1e-3, np.arange(100), z, R,
                                  np.zeros((100, K)), np.full(100, -1), np.zeros(100, np.int64)),
                       node="bench")
            clock.t = n * 0.1
            drv.tick()
    assert drv.counters["reports"] == 20_000 and drv.counters["late"] == 0
    assert drv.tracker.tracks.confirmed.any()


def test_latest_picture_does_not_wait_for_a_step(recorded: Recorded) -> None:
    """CoT takes the newest picture the service made; a step under way (its lock held by
    another thread) does not hold it up, where snapshot() would wait."""
    import threading

    drv, _ = free_driver(recorded)
    first = drv.latest()  # none made yet: a new one
    assert drv.latest() is first
    held, done = threading.Event(), threading.Event()

    def step() -> None:
        with drv._lock:
            held.set()
            done.wait(10)

    th = threading.Thread(target=step)
    th.start()
    try:
        assert held.wait(10)
        assert drv.latest() is first  # returned while the lock is held
        assert not drv._lock.acquire(timeout=0.05)  # (snapshot() would block here)
    finally:
        done.set()
        th.join(10)
