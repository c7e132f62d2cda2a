"""A stand-in for the live service (docs/live.md) that the browser test drives.

It answers the documented HTTP API and WebSocket with canned data that changes with time:
a hostile fixed-wing UAV flying at the aircraft parking, a hostile multirotor from the
south, an unknown multirotor loitering, a bird and an own aircraft; engagement 1 (on the
fixed-wing) and engagement 2 (on the multirotor) proposed. Approving an engagement moves it
approved → firing → assessed/killed on a short schedule; users operator, viewer and
commander (password ``<name>-pw``) have the matching roles, so a viewer's approve is a 403.

It is not the service: no tracker, no audit, sessions in memory. Run it by hand to look at
the UI: ``python tests/live/ui_stub.py [PORT]`` (after ``cd web && npm run build``).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pymap3d
import uvicorn
from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

WEB_DIST = Path(__file__).resolve().parents[2] / "src" / "bastion" / "live" / "web_dist"
COOKIE = "bastion_session"
ROLE_RANK = {"viewer": 0, "operator": 1, "commander": 2}
ORIGIN = (35.401, 35.949)  # Khmeimim runway centre, as in the khmeimim-2018 scenario
PARKING_EN_M = (400.0, 610.0)  # the aircraft-parking asset, east/north of the origin
# Seconds from approval to firing and to the assessed result: short, so a test sees it.
FIRE_AFTER_S = 1.0
ASSESS_AFTER_S = 2.5
KEEP_KILLED_S = 6.0  # a killed track stays (coasting) this long before it is dropped
EXPIRY_S = 300.0  # proposals stay open this long: longer than any test
FLOWN_S = 60.0  # the canned flights began this long before the stub started: trails show


def _latlon(east_m: float, north_m: float) -> tuple[float, float]:
    lat, lon, _ = pymap3d.enu2geodetic(east_m, north_m, 0.0, ORIGIN[0], ORIGIN[1], 0.0)
    return float(lat), float(lon)


SITE: dict[str, Any] = {
    "name": "khmeimim (UI stub)",
    "origin": {"lat": ORIGIN[0], "lon": ORIGIN[1], "alt_m": 0.0},
    "assets": [
        {
            "name": "khm-aircraft-parking",
            "lat": 35.4065,
            "lon": 35.9535,
            "radius_m": 150,
            "value": 10,
        },
        {"name": "khm-runway", "lat": 35.4010, "lon": 35.9490, "radius_m": 100, "value": 6},
        {"name": "khm-hq", "lat": 35.3960, "lon": 35.9545, "radius_m": 60, "value": 4},
    ],
    "no_fire_zones": [
        {
            "name": "jableh-town",
            "polygon": [[35.370, 35.915], [35.370, 35.935], [35.355, 35.935], [35.355, 35.915]],
        }
    ],
    "sensors": [
        {"name": "khm-radar", "kind": "radar", "lat": 35.404, "lon": 35.951, "range_m": 36000},
        {"name": "khm-eoir", "kind": "eoir", "lat": 35.401, "lon": 35.951, "range_m": 3000},
        {"name": "khm-rf", "kind": "rf", "lat": 35.401, "lon": 35.949, "range_m": None},
    ],
    "effectors": [
        {
            "name": "khm-pantsir-1-missile",
            "kind": "missile",
            "lat": 35.418,
            "lon": 35.950,
            "range_m": 12000,
        },
        {"name": "khm-pantsir-1-gun", "kind": "gun", "lat": 35.418, "lon": 35.950, "range_m": 4000},
        {"name": "khm-pantsir-2-gun", "kind": "gun", "lat": 35.384, "lon": 35.948, "range_m": 4000},
        {"name": "khm-ew-spoofer", "kind": "jammer", "lat": 35.401, "lon": 35.951, "range_m": 9000},
    ],
}


@dataclass
class _Mover:
    """A canned flight: straight at ``speed_mps`` from ``start`` towards ``goal`` (ENU m), or a
    circle of ``radius_m`` about ``start`` when ``goal`` is None."""

    id: int
    identity: str
    cls: str
    airframe: str
    start: tuple[float, float]
    goal: tuple[float, float] | None
    speed_mps: float
    alt_m: float
    radius_m: float = 0.0

    def en(self, t_s: float) -> tuple[float, float, float]:
        """East, north (m) and course (deg) at ``t_s``."""
        if self.goal is None:
            w = self.speed_mps / self.radius_m
            a = w * t_s
            e = self.start[0] + self.radius_m * math.cos(a)
            n = self.start[1] + self.radius_m * math.sin(a)
            return e, n, math.degrees(math.atan2(math.cos(a), -math.sin(a))) % 360
        de, dn = self.goal[0] - self.start[0], self.goal[1] - self.start[1]
        dist = math.hypot(de, dn)
        f = min(self.speed_mps * t_s / dist, 1.0)
        return (
            self.start[0] + f * de,
            self.start[1] + f * dn,
            math.degrees(math.atan2(de, dn)) % 360,
        )

    def ttg_s(self, t_s: float) -> float:
        if self.goal is None:
            return math.inf
        e, n, _ = self.en(t_s)
        return math.hypot(self.goal[0] - e, self.goal[1] - n) / self.speed_mps


MOVERS = [
    _Mover(
        1, "hostile", "hostile_drone", "fixed_wing", (9000.0, 7000.0), PARKING_EN_M, 35.0, 450.0
    ),
    _Mover(
        5, "hostile", "hostile_drone", "multirotor", (1500.0, -6500.0), PARKING_EN_M, 15.0, 120.0
    ),
    _Mover(
        2, "unknown", "hostile_drone", "multirotor", (-5000.0, 2000.0), None, 12.0, 200.0, 800.0
    ),
    _Mover(3, "neutral", "bird", "fixed_wing", (2500.0, -1500.0), (1500.0, -2500.0), 9.0, 60.0),
    _Mover(4, "friend", "own_aircraft", "fixed_wing", (0.0, -12000.0), (0.0, 0.0), 70.0, 900.0),
]


@dataclass
class _Engagement:
    id: int
    track: int
    effector: str
    kind: str
    pk: float
    cost_usd: float
    state: str = "proposed"
    result: str | None = None
    decided_by: str | None = None
    decided_at_s: float | None = None


@dataclass
class StubState:
    """Everything the stub knows; a test reads it to check what the UI did."""

    clock: Callable[[], float] = time.monotonic
    t0: float = field(default_factory=time.monotonic)
    weapons_control: str = "tight"
    ws_enabled: bool = True
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (user, path) answered 403
    engagements: dict[int, _Engagement] = field(
        default_factory=lambda: {
            1: _Engagement(1, 1, "khm-pantsir-1-missile", "kinetic", 0.78, 80000.0),
            2: _Engagement(2, 5, "khm-pantsir-2-gun", "kinetic", 0.33, 3000.0),
        }
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def t_s(self) -> float:
        return self.clock() - self.t0

    def _progress(self, t_s: float) -> None:
        for e in self.engagements.values():
            if e.state == "proposed" and t_s > EXPIRY_S:
                e.state = "expired"
            if e.decided_at_s is None or e.state in ("rejected", "assessed"):
                continue
            if t_s - e.decided_at_s >= ASSESS_AFTER_S:
                e.state, e.result = "assessed", "killed"
            elif t_s - e.decided_at_s >= FIRE_AFTER_S:
                e.state = "firing"

    def picture(self) -> dict[str, Any]:
        with self.lock:
            t_s = self.t_s()
            self._progress(t_s)
            killed = {
                e.track: e.decided_at_s + ASSESS_AFTER_S
                for e in self.engagements.values()
                if e.result == "killed" and e.decided_at_s is not None
            }
            tracks: list[dict[str, Any]] = []
            for m in MOVERS:
                t_end = killed.get(m.id)
                if t_end is not None and t_s > t_end + KEEP_KILLED_S:
                    continue  # dropped some seconds after the kill
                t_fly = FLOWN_S + (t_s if t_end is None else min(t_s, t_end))
                e, n, course = m.en(t_fly)
                lat, lon = _latlon(e, n)
                history = [list(_latlon(*m.en(t_fly - k)[:2])) for k in (60, 48, 36, 24, 12)]
                ttg = m.ttg_s(t_fly)
                threat = None
                if m.identity == "hostile" and t_end is None:
                    threat = {
                        "asset": "khm-aircraft-parking",
                        "p_reach": 0.8,
                        "ttg_s": ttg,
                        "value": 10.0,
                    }
                tracks.append(
                    {
                        "id": m.id,
                        "lat": lat,
                        "lon": lon,
                        "alt_m": m.alt_m,
                        "speed_mps": 0.0 if t_end is not None else m.speed_mps,
                        "course_deg": course,
                        "identity": m.identity,
                        "cls": m.cls,
                        "p_class": [0.9, 0.05, 0.05]
                        if m.cls == "hostile_drone"
                        else [0.05, 0.9, 0.05],
                        "airframe": m.airframe,
                        "status": "coasting"
                        if t_end is not None
                        else ("tentative" if m.identity == "unknown" else "confirmed"),
                        "history": history,
                        "sigma_m": 25.0,
                        "threat": threat,
                    }
                )
            threats = sorted(
                (t for t in tracks if t["threat"] is not None), key=lambda t: t["threat"]["ttg_s"]
            )
            engs = [
                {
                    "id": g.id,
                    "track": g.track,
                    "effector": g.effector,
                    "kind": g.kind,
                    "state": g.state,
                    "result": g.result,
                    "pk": g.pk,
                    "cost_usd": g.cost_usd,
                    "reason": "highest value per cost within range, outside no-fire zones",
                    "expires_in_s": max(0.0, EXPIRY_S - t_s) if g.state == "proposed" else None,
                    "decided_by": g.decided_by,
                }
                for g in self.engagements.values()
            ]
            return {
                "t_s": t_s,
                "time_utc": datetime.now(UTC).isoformat(),
                "weapons_control": self.weapons_control,
                "tracks": tracks,
                "threats": [t["id"] for t in threats],
                "engagements": engs,
                "alerts": [
                    {
                        "id": 1,
                        "track": 1,
                        "t_s": 0.0,
                        "text": "hostile fixed-wing UAV inbound khm-aircraft-parking",
                    },
                    {
                        "id": 2,
                        "track": 5,
                        "t_s": 0.0,
                        "text": "hostile multirotor inbound khm-aircraft-parking",
                    },
                ],
                "sensors": [
                    {"name": "khm-radar", "health": "ok", "last_report_s": t_s},
                    {
                        "name": "khm-eoir",
                        "health": "degraded",
                        "last_report_s": max(0.0, t_s - 4.0),
                    },
                    {"name": "khm-rf", "health": "ok", "last_report_s": t_s},
                    {"name": "tartus-radar", "health": "fault", "last_report_s": None},
                    {"name": "khm-iff", "health": "unknown", "last_report_s": None},
                ],
                "counters": {"reports": int(t_s * 40), "late": int(t_s), "bad_messages": 1},
            }


class _Login(BaseModel):
    username: str
    password: str


class _Mode(BaseModel):
    mode: Literal["hold", "tight", "free"]


def make_app(state: StubState, web_dist: Path = WEB_DIST) -> FastAPI:
    app = FastAPI()

    def user(request: Request, need: str = "viewer") -> tuple[str, str]:
        sess = state.sessions.get(request.cookies.get(COOKIE, ""))
        if sess is None:
            raise HTTPException(401, "not logged in")
        if ROLE_RANK[sess[1]] < ROLE_RANK[need]:
            state.refused.append((sess[0], request.url.path))
            raise HTTPException(403, f"role {sess[1]} may not do this (needs {need})")
        return sess

    @app.post("/api/login")
    def login(body: _Login) -> JSONResponse:
        role = body.username if body.username in ROLE_RANK else None
        if role is None or body.password != f"{body.username}-pw":
            raise HTTPException(401, "wrong user name or password")
        token = secrets.token_urlsafe(16)
        state.sessions[token] = (body.username, role)
        res = JSONResponse({"username": body.username, "role": role})
        res.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return res

    @app.post("/api/logout")
    def logout(request: Request) -> JSONResponse:
        user(request)
        state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        res = JSONResponse({"ok": True})
        res.delete_cookie(COOKIE)
        return res

    @app.get("/api/me")
    def me(request: Request) -> dict[str, str]:
        name, role = user(request)
        return {"username": name, "role": role}

    @app.get("/api/site")
    def site(request: Request) -> dict[str, Any]:
        user(request)
        return SITE

    @app.get("/api/picture")
    def picture(request: Request) -> dict[str, Any]:
        user(request)
        return state.picture()

    def decide(request: Request, eid: int, approve: bool) -> dict[str, Any]:
        name, _ = user(request, "operator")
        with state.lock:
            g = state.engagements.get(eid)
            if g is None:
                raise HTTPException(404, f"no engagement {eid}")
            if g.state != "proposed":
                raise HTTPException(409, f"engagement {eid} is {g.state}")
            g.state = "approved" if approve else "rejected"
            g.decided_by, g.decided_at_s = name, state.t_s()
            if not approve:
                g.decided_at_s = None
            return {"id": eid, "state": g.state}

    @app.post("/api/engagements/{eid}/approve")
    def approve(request: Request, eid: int) -> dict[str, Any]:
        return decide(request, eid, True)

    @app.post("/api/engagements/{eid}/reject")
    def reject(request: Request, eid: int) -> dict[str, Any]:
        return decide(request, eid, False)

    @app.post("/api/weapons-control")
    def weapons_control(request: Request, body: _Mode) -> dict[str, str]:
        user(request, "commander")
        state.weapons_control = body.mode
        return {"mode": body.mode}

    @app.websocket("/ws")
    async def ws(sock: WebSocket) -> None:
        if not state.ws_enabled or sock.cookies.get(COOKIE, "") not in state.sessions:
            await sock.close(code=1008)
            return
        await sock.accept()
        try:
            while state.ws_enabled:
                await sock.send_json({"type": "picture", "data": state.picture()})
                await asyncio.sleep(0.2)  # 5 pictures a second, the documented ceiling
            await sock.close(code=1012)
        except Exception:
            return

    if web_dist.is_dir():
        app.mount("/", StaticFiles(directory=web_dist, html=True), name="web")
    return app


class StubServer:
    """The stub on 127.0.0.1 on an ephemeral port, in a thread; ``with StubServer() as s``."""

    def __init__(self, state: StubState | None = None, port: int = 0) -> None:
        self.state = state or StubState()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        config = uvicorn.Config(make_app(self.state), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> StubServer:
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("UI stub server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10.0)
        self._sock.close()


if __name__ == "__main__":
    import sys

    with StubServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000) as s:
        print(f"UI stub at {s.url} (users operator, viewer, commander; password <name>-pw)")
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
