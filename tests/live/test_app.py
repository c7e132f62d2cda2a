"""The service over real sockets: every endpoint needs a session, roles are enforced,
approvals are audited before they act, the WebSocket pushes the picture."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time

import httpx
import numpy as np
import pytest
import websockets
from fastapi.routing import APIRoute
from starlette.routing import WebSocketRoute

from bastion.live.audit import verify
from bastion.live.auth import COOKIE
from tests.live.conftest import PASSWORDS, Site, start_site
from tests.live.fakes import FakeDriver


def _audit_rows(site: Site) -> list[tuple]:
    con = sqlite3.connect(site.db_path)
    try:
        return con.execute("SELECT seq, who, action, target, detail FROM audit "
                           "ORDER BY seq").fetchall()
    finally:
        con.close()


def _routes(site: Site) -> tuple[list[tuple[str, str]], list[str]]:
    http, ws = [], []
    for r in site.app.routes:
        if isinstance(r, APIRoute):
            for m in r.methods:
                http.append((m, r.path.replace("{eid}", "1")))
        elif isinstance(r, WebSocketRoute):
            ws.append(r.path)
    return http, ws


def test_every_endpoint_needs_a_session(site: Site) -> None:
    http, ws = _routes(site)
    api = [(m, p) for m, p in http if p.startswith("/api")]
    assert len(api) >= 9 and ws == ["/ws"]  # the enumeration found the API
    with site.client() as c:
        for method, path in api:
            if (method, path) == ("POST", "/api/login"):
                continue
            for cookies in ({}, {COOKIE: "forged-token"}, {COOKIE: ""}):
                c.cookies.clear()
                for k, v in cookies.items():
                    c.cookies.set(k, v)
                r = c.request(method, path)
                assert r.status_code == 401, (method, path, cookies, r.text)
                # malformed bodies are not parsed before the session is checked
                r = c.request(method, path, content=b"{not json",
                              headers={"content-type": "application/json"})
                assert r.status_code == 401, (method, path, r.text)
        assert c.get("/api/no-such-endpoint").status_code == 401
    for path in ws:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            asyncio.run(_ws_connect(site, path, cookie=None))
        with pytest.raises(websockets.exceptions.InvalidStatus):
            asyncio.run(_ws_connect(site, path, cookie="forged-token"))
    assert site.driver.calls == []


async def _ws_connect(site: Site, path: str, cookie: str | None,
                      origin: str | None = None) -> None:
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    if origin is not None:
        headers["Origin"] = origin
    async with websockets.connect(f"ws://127.0.0.1:{site.served.port}{path}",
                                  additional_headers=headers, open_timeout=5) as w:
        await asyncio.wait_for(w.recv(), 5)


def test_login_me_logout(site: Site) -> None:
    with site.client() as c:
        r = c.post("/api/login", json={"username": "otto", "password": "wrong-password-1"})
        assert r.status_code == 401 and COOKIE not in r.cookies
        r = c.post("/api/login", json={"username": "nobody", "password": "whatever-123"})
        assert r.status_code == 401
        r = c.post("/api/login", json={"username": "otto", "password": PASSWORDS["otto"]})
        assert r.status_code == 200 and r.json() == {"username": "otto", "role": "operator"}
        set_cookie = r.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=strict" in set_cookie
        assert c.get("/api/me").json() == {"username": "otto", "role": "operator"}
        assert c.get("/api/site").json()["name"] == "test-site"
        assert c.get("/api/picture").json()["weapons_control"] == "tight"
        token = c.cookies[COOKIE]
        assert c.post("/api/logout").status_code == 200
        assert c.get("/api/me").status_code == 401
        c.cookies.set(COOKIE, token)  # the old token is dead server-side, not only unset
        assert c.get("/api/me").status_code == 401
    actions = [(who, a) for _, who, a, _, _ in _audit_rows(site)]
    assert ("otto", "login_failed") in actions and ("nobody", "login_failed") in actions
    assert actions.index(("otto", "login")) < actions.index(("otto", "logout"))


def test_viewer_approve_is_refused_and_changes_nothing(site: Site) -> None:
    with site.client("vera") as c:
        before = c.get("/api/picture").json()["engagements"]
        n_audit = len(_audit_rows(site))
        for verb in ("approve", "reject"):
            r = c.post(f"/api/engagements/1/{verb}")
            assert r.status_code == 403, r.text
        assert c.post("/api/weapons-control", json={"mode": "free"}).status_code == 403
        assert c.get("/api/audit").status_code == 403
        after = c.get("/api/picture").json()["engagements"]
    assert site.driver.calls == []
    assert before == after and after[0]["state"] == "proposed"
    new = _audit_rows(site)[n_audit:]
    denied = [(who, target) for _, who, a, target, _ in new if a == "denied"]
    assert denied == [("vera", "POST /api/engagements/1/approve"),
                      ("vera", "POST /api/engagements/1/reject"),
                      ("vera", "POST /api/weapons-control"), ("vera", "GET /api/audit")]
    assert not any(a in ("approve", "reject", "weapons_control") for _, _, a, _, _ in new)


def test_operator_approves_but_not_weapons_control(site: Site) -> None:
    with site.client("otto") as c:
        assert c.post("/api/weapons-control", json={"mode": "free"}).status_code == 403
        assert c.get("/api/audit").status_code == 403
        r = c.post("/api/engagements/1/approve")
        assert r.status_code == 200 and r.json()["state"] == "approved"
        assert r.json()["decided_by"] == "otto"
        assert c.post("/api/engagements/2/reject").json()["state"] == "rejected"
        assert c.post("/api/engagements/1/approve").status_code == 409  # already decided
        assert c.post("/api/engagements/999/approve").status_code == 404
        assert c.post("/api/engagements/-1/approve").status_code == 422
        assert c.post("/api/engagements/x/approve").status_code == 422
    assert ("decide", 1, True, "otto") in site.driver.calls
    assert site.driver.weapons_control == "tight"
    acts = [(a, t) for _, who, a, t, _ in _audit_rows(site) if who == "otto"]
    assert ("approve", "engagement 1") in acts and ("reject", "engagement 2") in acts
    assert ("approve_failed", "engagement 1") in acts
    assert ("approve_failed", "engagement 999") in acts


def test_approval_is_committed_before_the_driver_acts(tmp_path) -> None:
    seen: list[bool] = []

    class Checking(FakeDriver):
        def decide(self, engagement, approve, who):
            con = sqlite3.connect(tmp_path / "bastion.db")  # another connection: committed
            row = con.execute("SELECT who FROM audit WHERE action = 'approve' AND target = ?",
                              (f"engagement {engagement}",)).fetchone()
            con.close()
            seen.append(row == (who,))
            return super().decide(engagement, approve, who)

    s = start_site(tmp_path, Checking(), static_dir=None)
    try:
        with s.client("cora") as c:
            assert c.post("/api/engagements/3/approve").status_code == 200
    finally:
        s.served.stop()
    assert seen == [True]


def test_commander_weapons_control_and_audit(site: Site) -> None:
    with site.client("cora") as c:
        r = c.post("/api/weapons-control", json={"mode": "hold"})
        assert r.status_code == 200 and r.json() == {"weapons_control": "hold"}
        assert c.post("/api/weapons-control", json={"mode": "fire!"}).status_code == 422
        assert c.post("/api/weapons-control", json={}).status_code == 422
        assert c.get("/api/picture").json()["weapons_control"] == "hold"
        recs = c.get("/api/audit", params={"limit": 3}).json()
        assert c.get("/api/audit", params={"limit": 0}).status_code == 422
    assert site.driver.calls == [("weapons_control", "hold", "cora")]
    assert len(recs) == 3 and recs[0]["seq"] > recs[1]["seq"] > recs[2]["seq"]
    wc = next(r for r in recs if r["action"] == "weapons_control")
    assert wc["who"] == "cora" and wc["detail"] == {"from": "tight", "to": "hold"}


def test_websocket_pushes_picture_and_events(site: Site) -> None:
    with site.client("vera") as c:
        token = c.cookies[COOKIE]

    async def listen() -> list[dict]:
        got = []
        async with websockets.connect(f"ws://127.0.0.1:{site.served.port}/ws",
                                      additional_headers={"Cookie": f"{COOKIE}={token}"}
                                      ) as w:
            t_end = time.monotonic() + 2.0
            while time.monotonic() < t_end:
                try:
                    got.append(json.loads(await asyncio.wait_for(w.recv(), 0.5)))
                except TimeoutError:
                    pass
        return got

    msgs = asyncio.run(listen())
    pictures = [m for m in msgs if m["type"] == "picture"]
    events = [m for m in msgs if m["type"] == "event"]
    assert pictures and pictures[0]["data"]["tracks"][0]["identity"] == "hostile"
    assert len(pictures) <= 1 + 2 * 5 + 1  # the first at once, then at most 5 a second
    assert events and events[0]["data"]["type"] == "tick"


def test_websocket_refuses_foreign_origin_and_closes_on_logout(site: Site) -> None:
    c = site.client("vera")
    token = c.cookies[COOKIE]
    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(_ws_connect(site, "/ws", token, origin="http://evil.example"))
    asyncio.run(_ws_connect(site, "/ws", token, origin=site.url))  # same origin: fine

    async def until_closed() -> int | None:
        async with websockets.connect(f"ws://127.0.0.1:{site.served.port}/ws",
                                      additional_headers={"Cookie": f"{COOKIE}={token}"}
                                      ) as w:
            await w.recv()
            await asyncio.to_thread(c.post, "/api/logout")
            try:
                while True:
                    await asyncio.wait_for(w.recv(), 10)
            except websockets.exceptions.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None

    assert asyncio.run(until_closed()) == 4401
    c.close()


def test_expiry_is_audited_and_chain_verifies(tmp_path) -> None:
    s = start_site(tmp_path, FakeDriver(expire_id=2), static_dir=None)
    try:
        with s.client("otto") as c:
            c.post("/api/engagements/1/approve")
            deadline = time.monotonic() + 10
            while not any(a == "expired" for _, _, a, _, _ in _audit_rows(s)):
                assert time.monotonic() < deadline, "expiry never audited"
                time.sleep(0.1)
            c.post("/api/logout")
    finally:
        s.served.stop()
    rows = _audit_rows(s)
    actions = [a for _, _, a, _, _ in rows]
    assert actions[0] == "service_start" and actions[-1] == "service_stop"
    exp = [(t, json.loads(d)) for _, _, a, t, d in rows if a == "expired"]
    assert len(exp) == 1 and exp[0][0] == "engagement 2"
    assert "auto_approve" not in actions  # engagement 1 was a person's decision
    assert s.driver.closed
    v = verify(s.db_path)
    assert v.ok and v.records == len(rows)


def test_static_ui_or_build_hint(tmp_path) -> None:
    s = start_site(tmp_path / "a", static_dir=tmp_path / "nowhere")
    try:
        r = httpx.get(s.url + "/")
        assert r.status_code == 200 and "npm ci &amp;&amp; npm run build" in r.text
        assert r.headers["x-frame-options"] == "DENY"
    finally:
        s.served.stop()
    ui = tmp_path / "dist"
    ui.mkdir()
    (ui / "index.html").write_text("<html>the air picture</html>")
    s = start_site(tmp_path / "b", static_dir=ui)
    try:
        assert "the air picture" in httpx.get(s.url + "/").text
        assert httpx.get(s.url + "/api/picture").status_code == 401  # the API stays gated
    finally:
        s.served.stop()


def test_non_finite_numbers_become_null(tmp_path) -> None:
    class Infinite(FakeDriver):
        def snapshot(self):
            pic = super().snapshot()
            pic["tracks"][0]["threat"]["ttg_s"] = float("inf")
            pic["engagements"][0]["pk"] = float("nan")
            return pic

    s = start_site(tmp_path, Infinite(), static_dir=None)
    try:
        with s.client("cora") as c:
            r = c.get("/api/picture")
            assert r.status_code == 200 and "Infinity" not in r.text and "NaN" not in r.text
            assert r.json()["tracks"][0]["threat"]["ttg_s"] is None
            assert c.post("/api/engagements/1/approve").status_code == 200
            rec = next(x for x in c.get("/api/audit").json() if x["action"] == "approve")
            assert rec["detail"]["pk"] is None
    finally:
        s.served.stop()
    assert verify(s.db_path).ok


def test_a_report_shows_while_a_step_runs(tmp_path, recorded) -> None:
    """The service steps a real LiveDriver in a worker thread: while a step is under way
    (held here until the test lets it go) the loop still takes a node's report and pushes
    its sensor row to the WebSocket; the step then takes the report. With the step on the
    event loop nothing could reach the WebSocket until it ended."""
    from bastion.live.driver import LiveDriver
    from tests.live.conftest import rows

    class HeldDriver(LiveDriver):
        def _step(self, t1: float, t0: float) -> None:
            in_step.set()
            assert release.wait(20)
            super()._step(t1, t0)

    in_step, release = threading.Event(), threading.Event()
    drv = HeldDriver(recorded.scenario, session_dir=None, weapons_control="tight")
    site = start_site(tmp_path, driver=drv, static_dir=None)  # type: ignore[arg-type]
    try:
        with site.client("vera") as c:
            token = c.cookies[COOKIE]

        async def watch() -> tuple[dict, bool]:
            async with websockets.connect(f"ws://127.0.0.1:{site.served.port}/ws",
                                          additional_headers={"Cookie": f"{COOKIE}={token}"}
                                          ) as w:
                assert await asyncio.to_thread(in_step.wait, 20), "no step began"
                one = rows(recorded.result.detections, np.arange(1))
                t = drv.t_s + 2 * drv.step_s  # after the step under way
                one = type(one)(np.array([t]), *(getattr(one, f) for f in (
                    "sensor", "z", "R", "evidence", "truth", "group")))
                node = recorded.scenario.sensors[int(one.sensor[0])].name
                drv.submit(one, node=node)  # (a feed server does this on the loop)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    msg = json.loads(await asyncio.wait_for(w.recv(), 10))
                    if msg["type"] != "sensors":
                        continue
                    row = next(s for s in msg["data"]["sensors"] if s["name"] == node)
                    if row["last_report_s"] == t:
                        return msg, release.is_set()
                raise AssertionError("the report's sensor row never came")

        msg, released = asyncio.run(watch())
        assert not released  # it came while the step was still held
        assert msg["data"]["counters"]["reports"] == 0  # the report waits for the next step
        assert drv.buffer.held == 0 and drv.counters["reports"] == 0  # waiting in the inbox
        release.set()
        deadline = time.monotonic() + 10
        while drv.counters["reports"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert drv.counters["reports"] == 1 and drv.counters["late"] == 0
    finally:
        release.set()
        site.served.stop()
