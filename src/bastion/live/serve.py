"""Running the service: bind, start the feed servers that this build has, serve until
SIGTERM or Ctrl-C, then close the driver and audit the stop (``bastion serve``)."""

from __future__ import annotations

import asyncio
import importlib
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn

from bastion.live.app import WEB_DIST, Driver, create_app
from bastion.live.auth import Users
from bastion.live.db import Database

GRACEFUL_S = 5.0  # ASSUMED: long enough to flush a session folder, short for an operator


class ServeError(Exception):
    """Cannot serve (address in use, bad host): one line for the user."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the driver and the app start, so ``--port 0``
    works and a busy port is one clear error rather than a log line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ServeError(f"--host {host}: {exc.strerror or exc}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"--host {host} --port {port}: cannot listen: "
                         f"{exc.strerror or exc}") from None
    return sock


def feed_jobs(driver: Driver, host: str, sapient_port: int | None,
              asterix_port: int | None, say: Callable[[str], None]
              ) -> list[Callable[[], Awaitable[None]]]:
    """The SAPIENT (TCP) and ASTERIX (UDP) servers, if this build has them.

    Each module is expected to offer ``async serve(sink, host, port)`` running until
    cancelled (docs/live.md); a build without one says so and serves without it."""
    jobs: list[Callable[[], Awaitable[None]]] = []
    for label, module, port in (("SAPIENT", "bastion.live.sapient_server", sapient_port),
                                ("ASTERIX", "bastion.live.asterix", asterix_port)):
        if port is None:
            continue
        try:
            mod: Any = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            say(f"{label} input is not in this build ({module}); serving without it")
            continue
        run = getattr(mod, "serve", None)
        if run is None:
            say(f"{label} input: {module} has no serve(sink, host, port); not started")
            continue
        jobs.append(lambda run=run, port=port: run(driver, host, port))
        say(f"{label} input on {host}:{port}")
    return jobs


def cot_job(driver: Driver, url: str, site: str) -> Callable[[], Awaitable[None]]:
    """Cursor-on-Target out as a background job of the service: the driver's picture
    (confirmed tracks) to a TAK server or client at ``url`` (live/cot_sender.py), until
    cancelled. A bad ``url`` is a ValueError here, before anything starts."""
    from bastion.live.cot import CotOptions
    from bastion.live.cot_sender import CotSender

    options = CotOptions(url=url, site=site)

    async def run() -> None:
        # the newest picture the service pushed (never waits for a step on the loop)
        sender = CotSender(options, source=getattr(driver, "latest", driver.snapshot))
        sender.start()
        try:
            await asyncio.Event().wait()
        finally:
            await sender.stop()

    return run


def serve(driver: Driver, db_path: Path, *, sock: socket.socket | None = None,
          host: str = "127.0.0.1", port: int = 8000,
          static_dir: Path | None = WEB_DIST, sapient_port: int | None = None,
          asterix_port: int | None = None, cot_url: str | None = None,
          close_driver: bool = True, start_detail: dict[str, Any] | None = None,
          say: Callable[[str], None] | None = None) -> None:
    """Serve until SIGTERM / Ctrl-C (uvicorn's handlers: a graceful shutdown that runs the
    app's lifespan end — driver closed, stop audited). ``sock``: already bound (else
    ``host``/``port`` are bound here). ``cot_url``: send the confirmed tracks as CoT there
    (off when None). ``close_driver`` False for a source with nothing to write (a replay)."""
    def _say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    say = say or _say
    sock = sock or bind(host, port)
    host = sock.getsockname()[0]
    real_port = sock.getsockname()[1]
    db = Database(db_path)
    n_users = Users(db).count()
    db.close()
    if n_users == 0:
        say(f"no users yet: add one with  bastion users add NAME --role commander --db "
            f"{db_path}  (the password is read from stdin)")
    jobs = feed_jobs(driver, host, sapient_port, asterix_port, say)
    if cot_url is not None:
        site = str(driver.site().get("name") or "site")[:64]
        jobs.append(cot_job(driver, cot_url, site))
        say(f"CoT out to {cot_url} (confirmed tracks)")
    app = create_app(driver, db_path, static_dir=static_dir, background=jobs,
                     close_driver=close_driver,
                     start_detail={**(start_detail or {}), "host": host, "port": real_port})
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=int(GRACEFUL_S), proxy_headers=False)
    server = uvicorn.Server(config)
    shown = host if ":" not in host else f"[{host}]"
    say(f"serving on http://{shown}:{real_port}  (database {db_path})")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
