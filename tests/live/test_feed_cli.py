"""``bastion feed`` as a user runs it: into a real server on loopback, and its one-line
errors (exit 2)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import yaml

from bastion import cli
from bastion.live.sapient_server import SapientServer
from tests.conftest import small_dict, small_scenario
from tests.live.sink import RecordingSink


def _bastion(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ei:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return int(ei.value.code), out, err


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("sc") / "small.yaml"
    p.write_text(yaml.safe_dump(small_dict(), sort_keys=False))
    return p


@pytest.mark.parametrize("skip", [[], ["--no-skip-quiet"]])
def test_feed_command_plays_into_a_server(capsys: pytest.CaptureFixture[str],
                                          small_file: Path, skip: list[str]) -> None:
    sink = RecordingSink()
    loop = asyncio.new_event_loop()
    srv = SapientServer(small_scenario(), sink)
    port = loop.run_until_complete(srv.start())[1]
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    try:
        code, out, err = _bastion(capsys, "feed", str(small_file), "--to",
                                  f"127.0.0.1:{port}", "--speed", "5000", *skip)
        sent = int(out.split("sent ")[1].split(" SAPIENT")[0].replace(",", "")) if (
            code == 0) else 0
        # what the feed wrote is in the server's socket buffers; on a loaded machine the
        # server may still be reading it when the feed returns (CI with -n 4, 2026-12-05)
        deadline = time.monotonic() + 20.0
        while sum(d.m for _, d in sink.dets) < sent and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        asyncio.run_coroutine_threadsafe(srv.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        th.join(10)
    assert code == 0, err
    assert "0 error replies" in out and "SAPIENT reports" in out
    assert sent > 100 and sum(d.m for _, d in sink.dets) == sent
    assert "simulating small-site" in err


@pytest.mark.parametrize("argv, fragment", [
    (["--to", "nohost"], "expected HOST:PORT"),
    (["--to", "127.0.0.1:99999"], "not in 1..65535"),
    (["--to", "127.0.0.1:1", "--asterix", "x"], "--asterix"),
    (["--to", "127.0.0.1:1"], "cannot connect to 127.0.0.1:1"),
])
def test_feed_errors_are_one_line(capsys: pytest.CaptureFixture[str], small_file: Path,
                                  argv: list[str], fragment: str) -> None:
    code, _, err = _bastion(capsys, "feed", str(small_file), *argv)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err
