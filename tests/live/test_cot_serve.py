"""CoT out as the service runs it (`bastion serve --cot URL`): the driver's picture, confirmed
tracks only, to a UDP receiver on loopback and, through a real TAK server (taky), to a second
TAK client. The service here is the same app and background job `serve()` assembles; the
CLI path itself (`bastion serve --cot udp://…` fed by `bastion feed`) is in
test_ui_e2e.py."""

from __future__ import annotations

import asyncio
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.live.app import create_app
from bastion.live.driver import LiveDriver
from bastion.live.serve import cot_job
from tests.live.conftest import Recorded, Served, add_users, feed
from tests.live.test_cot_tak import sa_event, taky_port  # noqa: F401  (a fixture)
from tests.live.test_driver import free_driver

HOSTILE_TYPES = {"a-h-A-M-F-Q", "a-h-A-M-H-Q"}


class _Enough(Exception):
    pass


def _until_hostile(drv: LiveDriver, t_s: float) -> None:
    if int(t_s * 4) % 8 == 0 and any(
            t["identity"] == "hostile" and t["status"] == "confirmed"
            for t in drv.snapshot()["tracks"]):
        raise _Enough


@pytest.fixture
def fed(recorded: Recorded) -> LiveDriver:
    """A driver fed the small site's reports until it holds a confirmed hostile track; its
    clock then stands still, so the served picture stays as it is."""
    sim = recorded.result
    drv, clock = free_driver(recorded)
    with pytest.raises(_Enough):
        feed(drv, clock, sim.detections, sim.t_end_s, on_tick=_until_hostile)
    return drv


def _served(drv: LiveDriver, tmp: Path, url: str) -> Served:
    db = tmp / "bastion.db"
    users = add_users(db)
    site = str(drv.site()["name"])
    app = create_app(drv, db, users=users, static_dir=None, close_driver=False,
                     background=[cot_job(drv, url, site)])
    return Served(app)


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    yield s
    s.close()


def _expected(drv: LiveDriver) -> tuple[set[int], set[int]]:
    tracks = drv.snapshot()["tracks"]
    sent = {t["id"] for t in tracks if t["status"] == "confirmed" and t["identity"] != "neutral"}
    hostile = {t["id"] for t in tracks if t["status"] == "confirmed" and
               t["identity"] == "hostile"}
    return sent, hostile


def test_served_driver_sends_confirmed_tracks_as_cot_over_udp(fed: LiveDriver, udp: Any,
                                                             tmp_path: Path) -> None:
    port = udp.getsockname()[1]
    sent, hostile = _expected(fed)
    assert hostile
    served = _served(fed, tmp_path, f"udp://127.0.0.1:{port}")
    got: dict[int, ET.Element] = {}
    try:
        deadline = time.monotonic() + 20
        while not hostile <= set(got) and time.monotonic() < deadline:
            try:
                data, _ = udp.recvfrom(65536)
            except TimeoutError:
                continue
            ev = ET.fromstring(data)
            uid = ev.get("uid", "")
            assert uid.startswith("bastion-small-site-"), uid
            got[int(uid.rsplit("-", 1)[1])] = ev
    finally:
        served.stop()
    assert hostile <= set(got), f"hostile tracks {hostile}, CoT for {set(got)}"
    assert set(got) <= sent  # confirmed tracks only, no birds, nothing tentative
    for tid in hostile:
        assert got[tid].get("type") in HOSTILE_TYPES
        assert got[tid].get("how") == "m-f"
    by_id = {t["id"]: t for t in fed.snapshot()["tracks"]}
    for tid, ev in got.items():
        pt = ev.find("point")
        assert pt is not None
        assert float(pt.get("lat", "nan")) == pytest.approx(by_id[tid]["lat"], abs=1e-6)
        assert float(pt.get("lon", "nan")) == pytest.approx(by_id[tid]["lon"], abs=1e-6)


def test_a_tak_client_receives_the_served_hostile_tracks_through_taky(
        fed: LiveDriver, taky_port: int, tmp_path: Path) -> None:  # noqa: F811
    _, hostile = _expected(fed)

    async def watch() -> list[ET.Element]:
        reader, writer = await asyncio.open_connection("127.0.0.1", taky_port)
        writer.write(sa_event("bastion-serve-watcher"))
        await writer.drain()
        await asyncio.sleep(0.3)  # taky knows the watcher before bastion's events arrive
        served = await asyncio.to_thread(_served, fed, tmp_path,
                                         f"tcp://127.0.0.1:{taky_port}")
        got: list[ET.Element] = []
        buf = b""
        try:
            async with asyncio.timeout(30.0):
                while not hostile <= {int(e.get("uid", "").rsplit("-", 1)[1]) for e in got}:
                    chunk = await reader.read(65536)
                    assert chunk, "taky closed the watcher's connection"
                    buf += chunk
                    while b"</event>" in buf:
                        one, buf = buf.split(b"</event>", 1)
                        ev = ET.fromstring(one[one.index(b"<event"):] + b"</event>")
                        if ev.get("uid", "").startswith("bastion-small-site-"):
                            got.append(ev)
        finally:
            await asyncio.to_thread(served.stop)
            writer.close()
        return got

    events = asyncio.run(watch())
    for ev in events:
        tid = int(ev.get("uid", "").rsplit("-", 1)[1])
        if tid in hostile:
            assert ev.get("type") in HOSTILE_TYPES
