"""Integration: bastion's CoT reaches a second TAK client through a real TAK server.

The server is taky (PyPI), in a venv of its own made by scripts/setup-taky.sh; the test finds
its `taky` executable through BASTION_TAKY, else at .venv-taky/bin/taky in the repository, and
is skipped (saying how to set it up) when neither exists. taky runs plain TCP (no SSL) on
127.0.0.1 at a free port, from a generated taky.conf in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bastion.live.cot import CotOptions, cot_time
from bastion.live.cot_sender import CotSender

REPO = Path(__file__).resolve().parents[2]


def taky_executable() -> Path | None:
    env = os.environ.get("BASTION_TAKY")
    path = Path(env) if env else REPO / ".venv-taky" / "bin" / "taky"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def taky_port() -> Iterator[int]:
    exe = taky_executable()
    if exe is None:
        pytest.skip("taky not set up: run scripts/setup-taky.sh (or set BASTION_TAKY to a "
                    "taky executable)")
    root = Path(tempfile.mkdtemp(prefix="taky-"))  # short: taky binds a unix socket in it
    port = free_port()
    conf = root / "taky.conf"
    conf.write_text(
        "[taky]\nhostname = localhost\nnode_id = BASTIONTEST\nbind_ip = 127.0.0.1\n"
        f"root_dir = {root}\n"
        f"[cot_server]\nport = {port}\n"
        f"[dp_server]\nupload_path = {root / 'dp-user'}\n"
        "[ssl]\nenabled = false\n")
    log = (root / "taky.log").open("wb")
    proc = subprocess.Popen([str(exe), "-c", str(conf), "-l", "debug"], cwd=root,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30.0
        while True:
            if proc.poll() is not None:
                pytest.fail(f"taky exited ({proc.returncode}):\n"
                            + (root / "taky.log").read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("taky did not listen within 30 s:\n"
                                + (root / "taky.log").read_text(errors="replace"))
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def sa_event(uid: str) -> bytes:
    """A TAK client's self-description ("SA"): takv + contact + __group make taky treat the
    connection as an identified user."""
    now = time.time()
    return (f'<event version="2.0" uid="{uid}" type="a-f-G-U-C" how="h-e" '
            f'time="{cot_time(now)}" start="{cot_time(now)}" stale="{cot_time(now + 60)}">'
            '<point lat="35.41" lon="35.95" hae="50.0" ce="10.0" le="10.0"/>'
            '<detail><takv device="pytest" platform="bastion-test" os="linux" version="1"/>'
            '<contact callsign="WATCHER" endpoint="*:-1:stcp"/>'
            '<__group name="Cyan" role="Team Member"/></detail></event>').encode()


def t_of(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_second_tak_client_receives_bastions_hostile_track(taky_port: int) -> None:
    track = {"id": 12, "lat": 35.4012345, "lon": 35.9487654, "alt_m": 310.0,
             "speed_mps": 33.0, "course_deg": 215.0, "identity": "hostile",
             "cls": "hostile_drone", "p_class": [0.9, 0.07, 0.03], "airframe": "fixed_wing",
             "status": "confirmed", "history": [], "sigma_m": 40.0, "threat": None}
    bird = dict(track, id=13, identity="neutral", cls="bird")
    snap = {"tracks": [track, bird]}
    opts = CotOptions(url=f"tcp://127.0.0.1:{taky_port}", site="khmeimim-2018",
                      interval_s=0.2)

    async def main() -> list[ET.Element]:
        reader, writer = await asyncio.open_connection("127.0.0.1", taky_port)
        writer.write(sa_event("bastion-test-watcher"))
        await writer.drain()
        sender = CotSender(opts, source=lambda: snap)
        sender.start()
        got: list[ET.Element] = []
        buf = b""
        try:
            async with asyncio.timeout(30.0):
                while not any(e.get("uid", "").startswith("bastion-khmeimim") for e in got):
                    chunk = await reader.read(65536)
                    assert chunk, "taky closed the watcher's connection"
                    buf += chunk
                    while b"</event>" in buf:
                        one, buf = buf.split(b"</event>", 1)
                        got.append(ET.fromstring(one[one.index(b"<event"):] + b"</event>"))
        finally:
            await sender.stop()
            writer.close()
        assert sender.counters["connects"] == 1 and sender.counters["events_queued"] >= 1
        return got

    t0 = time.time()
    events = [e for e in asyncio.run(main()) if e.get("uid", "").startswith("bastion-")]
    ev = events[0]
    assert ev.get("uid") == "bastion-khmeimim-2018-12"
    assert ev.get("type") == "a-h-A-M-F-Q"
    pt = ev.find("point")
    assert pt is not None
    # taky re-writes the point with 6 decimals
    assert float(pt.get("lat", "nan")) == pytest.approx(35.4012345, abs=2e-6)
    assert float(pt.get("lon", "nan")) == pytest.approx(35.9487654, abs=2e-6)
    assert float(pt.get("ce", "nan")) == pytest.approx(40.0)
    time_s, stale_s = t_of(ev.get("time", "")), t_of(ev.get("stale", ""))
    assert stale_s - time_s == pytest.approx(opts.stale_after_s, abs=0.002)
    assert time_s >= t0 - 1.0 and stale_s > time_s
    # birds are not sent by default
    assert all(e.get("uid") != "bastion-khmeimim-2018-13" for e in events)
