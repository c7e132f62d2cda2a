"""live/cot_sender.py against loopback endpoints: TCP and UDP delivery, the TAK server down,
going away and coming back, newest-picture-only, a failing source never stopping it."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from bastion.live.cot import CotOptions
from bastion.live.cot_sender import CotSender

FAST = {"interval_s": 0.05, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.2}


def picture(*ids: int, identity: str = "hostile") -> dict[str, Any]:
    return {"tracks": [{"id": i, "lat": 35.4, "lon": 35.9, "alt_m": 200.0, "speed_mps": 20.0,
                        "course_deg": 90.0, "identity": identity, "cls": "hostile_drone",
                        "airframe": "multirotor", "status": "confirmed", "sigma_m": 30.0}
                       for i in ids]}


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class FakeTak:
    """A TCP endpoint that collects complete <event> elements; can drop its clients."""

    def __init__(self) -> None:
        self.events: list[ET.Element] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while True:
                chunk = await reader.readuntil(b"</event>")
                self.events.append(ET.fromstring(chunk.strip()))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    def drop_clients(self) -> None:
        for w in self.writers:
            w.close()
        self.writers.clear()

    async def stop(self) -> None:
        self.drop_clients()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def test_tcp_down_then_up_then_dropped_then_back() -> None:
    async def main() -> None:
        port = free_port()
        snap = picture(3)
        sender = CotSender(CotOptions(url=f"tcp://127.0.0.1:{port}", site="base", **FAST),
                           source=lambda: snap)
        sender.start()
        await until(lambda: sender.counters["connect_failures"] >= 2)  # nobody listening
        assert not sender.connected
        tak = FakeTak()
        await tak.start(port)
        await until(lambda: len(tak.events) >= 2)
        assert sender.connected and sender.counters["connects"] == 1
        ev = tak.events[-1]
        assert (ev.get("uid"), ev.get("type")) == ("bastion-base-3", "a-h-A-M-H-Q")
        tak.drop_clients()  # the server goes away under the sender
        await until(lambda: sender.counters["disconnects"] >= 1)
        n = len(tak.events)
        await until(lambda: sender.counters["connects"] >= 2 and len(tak.events) > n + 1)
        await sender.stop()
        await tak.stop()
        assert sender.counters["errors"] == 0
    asyncio.run(main())


def test_udp_unicast_delivery() -> None:
    async def main() -> None:
        got: list[bytes] = []

        class Rx(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                got.append(data)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Rx, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        sender = CotSender(CotOptions(url=f"udp://127.0.0.1:{port}", site="base", **FAST),
                           source=lambda: picture(1, 2))
        sender.start()
        await until(lambda: len(got) >= 4)
        await sender.stop()
        transport.close()
        uids = {ET.fromstring(d).get("uid") for d in got}  # one event per datagram
        assert uids == {"bastion-base-1", "bastion-base-2"}
    asyncio.run(main())


def test_offer_sends_only_the_newest_picture() -> None:
    async def main() -> None:
        port = free_port()
        tak = FakeTak()
        await tak.start(port)
        sender = CotSender(CotOptions(url=f"tcp://127.0.0.1:{port}", **FAST))
        sender.start()
        await until(lambda: sender.connected)
        for i in range(50):   # a burst between two sends: only the last one counts
            sender.offer(picture(i))
        await until(lambda: len(tak.events) >= 1)
        await asyncio.sleep(0.3)  # several intervals with nothing new offered
        assert [e.get("uid") for e in tak.events] == ["bastion-site-49"]
        assert sender.counters["pictures"] == 1
        await sender.stop()
        await tak.stop()
    asyncio.run(main())


def test_a_failing_source_or_bad_picture_never_stops_it() -> None:
    async def main() -> None:
        port = free_port()
        tak = FakeTak()
        await tak.start(port)
        calls = {"n": 0}

        def source() -> dict[str, Any]:
            calls["n"] += 1
            if calls["n"] % 3 == 1:
                raise RuntimeError("driver hiccup")
            if calls["n"] % 3 == 2:
                return {"tracks": [{"id": 1, "status": "confirmed", "identity": "hostile",
                                    "airframe": "multirotor", "lat": "north"}]}
            return picture(7)

        sender = CotSender(CotOptions(url=f"tcp://127.0.0.1:{port}", **FAST), source=source)
        task = sender.start()
        await until(lambda: len(tak.events) >= 3)
        assert sender.counters["errors"] >= 2 and sender.counters["bad_tracks"] >= 2
        assert not task.done()
        await sender.stop()
        await tak.stop()
    asyncio.run(main())
