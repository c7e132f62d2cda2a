"""The service: REST and WebSocket over a LiveDriver, with users, roles and the audit log
(docs/live.md, "HTTP API").

Everything that touches the driver runs on the event loop's thread (the ticker, the
endpoints, the WebSocket pushes), so the driver needs no locks and an approval cannot
interleave with a tick. An approval is written to the audit log — committed durably —
before the driver acts on it and before the HTTP answer: an approval that was answered is
never lost, and one that was refused (403) changes nothing but is itself a record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, WebSocket
from fastapi import Path as PathParam
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from bastion.live.audit import AuditLog
from bastion.live.auth import COOKIE, ROLES, SESSION_TTL_S, User, Users, require
from bastion.live.db import Database
from bastion.live.jsontext import to_json

log = logging.getLogger("bastion.live")

WEB_DIST = Path(__file__).parent / "web_dist"
MAX_ENGAGEMENT_ID = 2**53  # JSON numbers are exact to here
T = TypeVar("T")
# the sensor rows follow a report within this (a burst of reports makes one push)
SENSOR_PUSH_S = 0.01
MAX_EVENTS_QUEUED = 1000  # per WebSocket client; a client further behind loses the oldest
_DECIDED = ("approved", "firing", "assessed")
EngagementId = Annotated[int, PathParam(ge=0, le=MAX_ENGAGEMENT_ID)]


class Driver(Protocol):
    """What the service needs of a LiveDriver (docs/live.md)."""

    def tick(self) -> None: ...
    def snapshot(self) -> dict[str, Any]: ...
    def site(self) -> dict[str, Any]: ...
    def decide(self, engagement: int, approve: bool, who: str) -> dict[str, Any]: ...
    def set_weapons_control(self, mode: str, who: str) -> None: ...
    def subscribe(self, fn: Callable[[dict[str, Any]], None]) -> None: ...
    def close(self) -> Path | None: ...


def _json(x: Any) -> Response:
    return Response(to_json(x), media_type="application/json")


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class WeaponsControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["hold", "tight", "free"]


def _gated(scope: Scope) -> bool:
    """Paths that need a session: the whole API (but login) and the WebSocket."""
    path: str = scope["path"]
    if scope["type"] == "http" and path == "/api/login":
        return False
    return path == "/api" or path.startswith("/api/") or path == "/ws" or \
        path.startswith("/ws/")


def _cookie(scope: Scope) -> str | None:
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            with suppress(Exception):
                jar.load(v.decode("latin-1"))
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


class SessionGate:
    """Deny by default: no request reaches an API route or the WebSocket without a valid
    session, whatever the route declares (the routes' ``require`` then checks the role).
    Also sets headers that keep the UI out of frames and its API answers out of caches."""

    def __init__(self, app: ASGIApp, users: Users) -> None:
        self.app, self.users = app, users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if _gated(scope):
            user = self.users.session_user(_cookie(scope))
            if user is None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await JSONResponse({"detail": "log in first"}, 401)(scope, receive, send)
                return
            scope.setdefault("state", {})["user"] = user
        api = scope["path"].startswith("/api")

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                h = list(msg.get("headers", []))
                h += [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                if api:
                    h.append((b"cache-control", b"no-store"))
                msg["headers"] = h
            await send(msg)

        await self.app(scope, receive, send_with_headers)


class _Client:
    def __init__(self) -> None:
        self.picture: str | None = None
        self.sensors: str | None = None
        self.events: deque[str] = deque(maxlen=MAX_EVENTS_QUEUED)
        self.wake = asyncio.Event()


class Hub:
    """Fans the picture (at most ``picture_hz``) and the driver's events out to the
    WebSocket clients; a slow client gets the newest picture, never a backlog of them."""

    def __init__(self) -> None:
        self.clients: set[_Client] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events_dropped = 0

    def picture(self, data: dict[str, Any]) -> None:
        text = to_json({"type": "picture", "data": data})
        for c in self.clients:
            c.picture = text
            c.sensors = None  # the picture has them
            c.wake.set()

    def sensors(self, data: dict[str, Any]) -> None:
        """The picture's sensor rows and counters alone, between pictures."""
        text = to_json({"type": "sensors", "data": data})
        for c in self.clients:
            c.sensors = text
            c.wake.set()

    def event(self, ev: dict[str, Any]) -> None:
        """The driver's subscriber: from the loop's thread or any other."""
        loop = self.loop
        if loop is None:
            return
        text = to_json({"type": "event", "data": ev})
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._push(text)
        else:
            loop.call_soon_threadsafe(self._push, text)

    def _push(self, text: str) -> None:
        for c in self.clients:
            if len(c.events) == c.events.maxlen:
                self.events_dropped += 1
            c.events.append(text)
            c.wake.set()


class Watch:
    """Audits what the driver decides by itself: expiries, and approvals under weapons
    free; seen by comparing each picture's engagements with the people's decisions."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self.by_person: set[int] = set()
        self.done: set[tuple[int, str]] = set()

    def see(self, picture: dict[str, Any]) -> None:
        for e in picture.get("engagements", []):
            eid, state = e.get("id"), e.get("state")
            if not isinstance(eid, int):
                continue
            what = {"engagement": eid, "track": e.get("track"), "effector": e.get("effector"),
                    "kind": e.get("kind")}
            if state == "expired" and (eid, "expired") not in self.done:
                self.done.add((eid, "expired"))
                self.audit.append("system", "expired", f"engagement {eid}", what)
            elif state in _DECIDED and eid not in self.by_person and \
                    (eid, "auto") not in self.done:
                self.done.add((eid, "auto"))
                self.audit.append(str(e.get("decided_by") or "system"), "auto_approve",
                                  f"engagement {eid}",
                                  {**what, "weapons_control": picture.get("weapons_control")})


def _client_name(request: Request) -> str:
    return request.client.host if request.client else "?"


def _printable(s: str, n: int = 64) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in s[:n])


def _same_origin(ws: WebSocket) -> bool:
    """A browser's WebSocket from another site carries its Origin: refuse it (the cookie
    is SameSite=Strict too; this is the second lock)."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser (tests, tools): the session cookie is what counts
    return urlsplit(origin).netloc == ws.headers.get("host", "")


def create_app(driver: Driver, db_path: Path | str, *, static_dir: Path | None = WEB_DIST,
               users: Users | None = None, tick_hz: float = 10.0, picture_hz: float = 5.0,
               session_ttl_s: float = SESSION_TTL_S, close_driver: bool = True,
               start_detail: dict[str, Any] | None = None,
               background: Sequence[Callable[[], Awaitable[None]]] = ()) -> FastAPI:
    """The service over ``driver``; users, sessions and the audit log in ``db_path``.

    The app's lifespan audits the service's start and stop, ticks the driver at
    ``tick_hz``, pushes the picture at ``picture_hz`` and, on shutdown, closes the driver
    (its session folder is written) when ``close_driver``. ``background`` coroutines (the
    feed servers) run for the app's life and are cancelled before the driver closes."""
    db = Database(db_path)
    audit = AuditLog(db)
    users = users or Users(db, session_ttl_s=session_ttl_s)
    hub, watch = Hub(), Watch(audit)
    stats = {"tick_errors": 0}
    read_only = bool(getattr(driver, "read_only", False))  # a Replay
    # A thread-safe driver (LiveDriver) steps in a worker thread, so the loop keeps reading
    # the feeds and pushing to the screens while a step runs; every call into it that may
    # wait for a step runs in a thread too. Others (a Replay, test fakes) stay on the loop.
    threaded = bool(getattr(driver, "threadsafe", False))

    async def call(fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args) if threaded else fn(*args)

    sensors_changed = asyncio.Event()

    def on_sensors() -> None:  # the driver's hook, from its caller's thread
        loop = hub.loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            sensors_changed.set()
        else:
            loop.call_soon_threadsafe(sensors_changed.set)

    if hasattr(driver, "on_sensors"):
        driver.on_sensors = on_sensors
    argon_slots = asyncio.Semaphore(2)  # argon2 takes 64 MiB a verification: bound them

    async def ticker() -> None:
        period, loop = 1.0 / tick_hz, asyncio.get_running_loop()
        nxt = loop.time()
        while True:
            try:
                await call(driver.tick)
            except Exception:  # a driver bug must not stop the picture: log, count, go on
                stats["tick_errors"] += 1
                log.exception("driver.tick failed")
            nxt = max(nxt + period, loop.time())
            await asyncio.sleep(nxt - loop.time())

    async def pusher() -> None:
        """The whole picture ``picture_hz`` times a second; between pictures, within
        ``SENSOR_PUSH_S`` of a report or a node's status, its sensor rows and counters
        (cheap: a report's arrival shows at once, not a picture period later)."""
        period, loop = 1.0 / picture_hz, asyncio.get_running_loop()
        last = loop.time()
        while True:
            due = last + period
            with suppress(TimeoutError):
                await asyncio.wait_for(sensors_changed.wait(), max(0.0, due - loop.time()))
            if loop.time() >= due:
                sensors_changed.clear()  # the picture has the sensor rows
                last = loop.time()
                try:
                    pic = await call(driver.snapshot)
                    if not read_only:  # a replay's decisions were audited when made
                        watch.see(pic)
                except Exception:
                    log.exception("driver.snapshot failed")
                    continue
                if hub.clients:
                    hub.picture(pic)
            else:
                sensors_changed.clear()
                if hub.clients:
                    try:
                        hub.sensors(driver.sensors())  # type: ignore[attr-defined]
                    except Exception:
                        log.exception("driver.sensors failed")
                await asyncio.sleep(SENSOR_PUSH_S)  # coalesce a burst of reports

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.loop = asyncio.get_running_loop()
        audit.append("system", "service_start", "", start_detail or {})
        tasks = [asyncio.create_task(ticker()), asyncio.create_task(pusher()),
                 *(asyncio.create_task(job()) for job in background)]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except asyncio.CancelledError:
                    pass
                except Exception:  # a feed server that failed: its error is in the log
                    log.exception("a background task failed")
            detail: dict[str, Any] = {}
            if close_driver:
                try:
                    folder = driver.close()
                    detail["session_dir"] = str(folder) if folder else None
                except Exception as exc:
                    log.exception("driver.close failed")
                    detail["close_error"] = f"{type(exc).__name__}: {exc}"[:500]
            audit.append("system", "service_stop", "", detail)
            db.close()

    app = FastAPI(title="bastion live", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.users, app.state.audit, app.state.db = users, audit, db
    app.state.hub, app.state.stats = hub, stats
    app.add_middleware(SessionGate, users=users)
    driver.subscribe(hub.event)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8 JSON):
            # the same answer as any other malformed JSON, so a client sees one kind
            return JSONResponse({"detail": [{"type": "json_invalid", "loc": ["body"],
                                             "msg": "the body is not valid JSON"}]}, 422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer echoes the input: a password back into a response (and a
        # log), and a non-standard Infinity that then fails to encode (a 500). Say where
        # and what, never the value.
        errors = [{"type": str(e.get("type", "")), "loc": [str(x) for x in e.get("loc", ())],
                   "msg": str(e.get("msg", ""))} for e in exc.errors()]
        return JSONResponse({"detail": errors}, 422)

    viewer, operator, commander = (Depends(require(r)) for r in ROLES)

    @app.post("/api/login")
    async def login(body: Login, request: Request, response: Response) -> dict[str, str]:
        async with argon_slots:
            user = await asyncio.to_thread(users.authenticate, body.username, body.password)
        if user is None:
            audit.append(_printable(body.username), "login_failed", "",
                         {"client": _client_name(request)})
            raise HTTPException(401, "wrong user name or password")
        token = users.new_session(user)
        audit.append(user.name, "login", "", {"client": _client_name(request),
                                              "role": user.role})
        response.set_cookie(COOKIE, token, max_age=int(session_ttl_s), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https",
                            path="/")
        return {"username": user.name, "role": user.role}

    @app.post("/api/logout")
    async def logout(request: Request, response: Response,
                     user: User = viewer) -> dict[str, bool]:
        token = request.cookies.get(COOKIE)
        if token:
            users.end_session(token)
        audit.append(user.name, "logout", "", {"client": _client_name(request)})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return {"ok": True}

    @app.get("/api/me")
    async def me(user: User = viewer) -> dict[str, str]:
        return {"username": user.name, "role": user.role}

    @app.get("/api/site")
    async def site(user: User = viewer) -> Response:
        return _json(driver.site())

    @app.get("/api/picture")
    async def picture(user: User = viewer) -> Response:
        return _json(await call(driver.snapshot))

    def refuse_if_read_only(what: str) -> None:
        if read_only:  # a replay: nothing to decide, nothing audited as a decision
            raise HTTPException(409, f"{what}: this is a replay, read-only")

    async def decide(eid: int, approve: bool, user: User) -> dict[str, Any]:
        action = "approve" if approve else "reject"
        refuse_if_read_only(f"engagement {eid}")
        seen = next((e for e in (await call(driver.snapshot)).get("engagements", [])
                     if e.get("id") == eid), None)
        what: dict[str, Any] = {"engagement": eid}
        if seen is not None:  # what the person saw when deciding
            what |= {k: seen.get(k) for k in ("track", "effector", "kind", "state", "pk",
                                              "expires_in_s")}
        audit.append(user.name, action, f"engagement {eid}", {**what, "role": user.role})
        try:
            result = await call(driver.decide, eid, approve, user.name)
        except KeyError:
            audit.append(user.name, f"{action}_failed", f"engagement {eid}",
                         {"why": "no such engagement"})
            raise HTTPException(404, f"no engagement {eid}") from None
        except (ValueError, PermissionError) as exc:
            audit.append(user.name, f"{action}_failed", f"engagement {eid}",
                         {"why": str(exc)[:500]})
            raise HTTPException(409, f"engagement {eid}: {exc}") from None
        watch.by_person.add(eid)
        return result

    @app.post("/api/engagements/{eid}/approve")
    async def approve(eid: EngagementId, user: User = operator) -> Response:
        return _json(await decide(eid, True, user))

    @app.post("/api/engagements/{eid}/reject")
    async def reject(eid: EngagementId, user: User = operator) -> Response:
        return _json(await decide(eid, False, user))

    @app.post("/api/weapons-control")
    async def weapons_control(body: WeaponsControl,
                              user: User = commander) -> dict[str, str]:
        refuse_if_read_only("weapons control")
        before = getattr(driver, "weapons_control", None) or \
            (await call(driver.snapshot)).get("weapons_control")
        audit.append(user.name, "weapons_control", str(body.mode),
                     {"from": before, "to": body.mode})
        try:
            await call(driver.set_weapons_control, body.mode, user.name)
        except PermissionError as exc:
            raise HTTPException(409, f"weapons control: {exc}") from None
        return {"weapons_control": body.mode}

    @app.get("/api/audit")
    async def audit_records(limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                            user: User = commander) -> list[dict[str, Any]]:
        return audit.newest(limit)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        token = websocket.cookies.get(COOKIE)
        if users.session_user(token) is None or not _same_origin(websocket):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        me = _Client()
        hub.clients.add(me)
        gone = asyncio.Event()

        async def drain() -> None:  # the UI sends nothing; notice when it leaves
            with suppress(WebSocketDisconnect, RuntimeError):
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass
            gone.set()

        reader = asyncio.create_task(drain())
        checked = time.monotonic()
        try:
            first = await call(driver.snapshot)
            await websocket.send_text(to_json({"type": "picture", "data": first}))
            while not gone.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(me.wake.wait(), 1.0)
                me.wake.clear()
                if time.monotonic() - checked >= 1.0:  # logged out or expired: close
                    checked = time.monotonic()
                    if users.session_user(token) is None:
                        await websocket.close(code=4401)
                        break
                while me.events:
                    await websocket.send_text(me.events.popleft())
                if me.picture is not None:
                    text, me.picture = me.picture, None
                    await websocket.send_text(text)
                if me.sensors is not None:
                    text, me.sensors = me.sensors, None
                    await websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            hub.clients.discard(me)
            reader.cancel()
            with suppress(asyncio.CancelledError):
                await reader

    if static_dir is not None and (Path(static_dir) / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="ui")
    else:
        @app.get("/", response_class=HTMLResponse)
        async def no_ui() -> str:
            return _NO_UI

    return app


_NO_UI = """<!doctype html><html><head><meta charset="utf-8"><title>bastion</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>bastion live</h1>
<p>The service runs, but the browser air picture has not been built into this
installation.</p>
<p>Build it once (needs Node.js and npm) from the source tree:</p>
<pre>cd web
npm ci &amp;&amp; npm run build</pre>
<p>which writes <code>src/bastion/live/web_dist/</code>; then restart <code>bastion
serve</code>. The HTTP API (<code>/api/…</code>) and the WebSocket (<code>/ws</code>) work
without it (docs/live.md).</p></body></html>
"""
