"""Test-only entry point: the real ``serve`` path with the FakeDriver, in its own process
(``python -m tests.live.fake_serve DB``), for tests that kill the server."""

from __future__ import annotations

import sys
from pathlib import Path

from bastion.live.serve import serve
from tests.live.fakes import FakeDriver

if __name__ == "__main__":
    serve(FakeDriver(keep_proposed=20), Path(sys.argv[1]), host="127.0.0.1", port=0,
          static_dir=None)
