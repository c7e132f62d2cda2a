"""Sends the picture's tracks as CoT to a TAK server (TCP) or a TAK client (UDP unicast).

Runs as one asyncio task on the service's loop. Connections come from pytak's
`protocol_factory` and events go out through a pytak `TXWorker` reading a bounded TX queue
(pytak drops the oldest event when it is full). At most one picture per `interval_s` is sent,
always the newest. When the TAK server is down or goes away the sender counts it, waits (backing
off from `reconnect_initial_s` to `reconnect_max_s`) and connects again; nothing is queued while
it is down, since old positions are worth nothing. Nothing here raises into the caller.

Wiring (service lifespan)::

    sender = CotSender(CotOptions(url=..., site=site_name), source=driver.snapshot)
    sender.start()          # on the running loop
    ...
    await sender.stop()
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

with warnings.catch_warnings():
    # pytak warns at import that its TLS/WebSocket extras are missing; plain TCP/UDP needs
    # neither.
    warnings.simplefilter("ignore", UserWarning)
    import pytak

from .cot import CotOptions, picture_events

log = logging.getLogger(__name__)

_COUNTERS = ("pictures", "events_queued", "bad_tracks", "connects", "disconnects",
             "connect_failures", "errors")


class _Disconnected(ConnectionError):
    """The peer closed the stream."""


def _pytak_config(url: str) -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None)
    cp.add_section("bastion")
    sec = cp["bastion"]
    # udp+wo: write only. A plain udp:// in pytak also *binds* the destination port to read.
    sec["COT_URL"] = url.replace("udp://", "udp+wo://", 1)
    sec["TAK_PROTO"] = "0"  # XML on the wire; TAK servers and clients all take it
    return sec


class CotSender:
    """Puts each picture's CoT events on pytak's TX queue for a TAK endpoint.

    `source` (e.g. `LiveDriver.snapshot`) is pulled once per interval; without it the caller
    hands pictures to `offer` and the newest is sent at most once per interval.
    """

    def __init__(self, options: CotOptions, *,
                 source: Callable[[], Mapping[str, Any]] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.options = options
        self._source = source
        self._clock = clock
        self._latest: Mapping[str, Any] | None = None
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.last_error: str | None = None
        self.counters: dict[str, int] = dict.fromkeys(_COUNTERS, 0)

    # -- caller side -------------------------------------------------------------------
    def offer(self, picture: Mapping[str, Any]) -> None:
        """Hand over the newest picture (cheap; call from the loop as often as you like)."""
        self._latest = picture
        self._new.set()

    def start(self) -> asyncio.Task[None]:
        """Start sending on the running loop; idempotent."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="bastion-cot")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.connected = False

    # -- the task ------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.options.reconnect_initial_s
        while True:
            try:
                reader, writer = await pytak.protocol_factory(_pytak_config(self.options.url))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, unreachable, bad name: retry, never raise
                self.counters["connect_failures"] += 1
                self._note(exc)
            else:
                self.counters["connects"] += 1
                self.connected = True
                delay = self.options.reconnect_initial_s
                try:
                    await self._session(reader, writer)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.counters["disconnects"] += 1
                    self._note(exc)
                finally:
                    self.connected = False
                    _close(writer)
            await asyncio.sleep(delay)
            delay = min(delay * 2.0, self.options.reconnect_max_s)

    def _note(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("CoT %s: %s", self.options.url, self.last_error)

    async def _session(self, reader: Any, writer: Any) -> None:
        """One connection: the TX worker, a reader that drains what the server sends (and
        notices it going away) and the pump; the first of them to end ends the session."""
        self._latest = None  # a picture offered while down is old news
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self.options.queue_max)
        tx = pytak.TXWorker(queue, _pytak_config(self.options.url), writer)
        tasks = {asyncio.create_task(tx.run(), name="bastion-cot-tx"),
                 asyncio.create_task(self._pump(tx), name="bastion-cot-pump")}
        if reader is not None and hasattr(reader, "read"):
            tasks.add(asyncio.create_task(_drain(reader), name="bastion-cot-rx"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for t in done:
            exc = t.exception()
            if exc is not None:
                raise exc
        raise _Disconnected("CoT session ended")

    async def _pump(self, tx: pytak.TXWorker) -> None:
        interval = self.options.interval_s
        next_t = asyncio.get_running_loop().time()
        while True:
            loop_t = asyncio.get_running_loop().time()
            if loop_t < next_t:
                await asyncio.sleep(next_t - loop_t)
            next_t = max(next_t + interval, asyncio.get_running_loop().time())
            picture = self._take()
            if picture is None:
                if self._source is None:
                    await self._new.wait()  # nothing offered yet: wait for the first
                continue
            try:
                events, bad = picture_events(picture, self.options, now_utc_s=self._clock())
            except Exception as exc:  # a malformed picture is the producer's bug: count it
                self.counters["errors"] += 1
                self._note(exc)
                continue
            self.counters["pictures"] += 1
            self.counters["bad_tracks"] += bad
            for ev in events:
                await tx.put_queue(ev)
            self.counters["events_queued"] += len(events)

    def _take(self) -> Mapping[str, Any] | None:
        if self._source is not None:
            try:
                return self._source()
            except Exception as exc:
                self.counters["errors"] += 1
                self._note(exc)
                return None
        picture, self._latest = self._latest, None
        self._new.clear()
        return picture


async def _drain(reader: asyncio.StreamReader) -> None:
    """Read and discard whatever the server sends (its pings, other clients' events); a TCP
    close shows here first, before any write fails."""
    while True:
        if not await reader.read(65536):
            raise _Disconnected("TAK server closed the connection")


def _close(writer: Any) -> None:
    with contextlib.suppress(Exception):
        writer.close()
