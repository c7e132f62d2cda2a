"""Test-only: ``bastion serve`` itself (the CLI) with the FakeDriver standing in for
``bastion.live.driver.LiveDriver`` (``python -m tests.live.stub_serve ARGS...``)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from tests.live.fakes import FakeDriver


class StubLiveDriver(FakeDriver):
    def __init__(self, scenario: Any, *, session_dir: Path | None,
                 weapons_control: str = "tight", **kw: Any) -> None:
        super().__init__()
        self.session_dir, self.weapons_control = session_dir, weapons_control
        self.raids = len(scenario.raids)

    def close(self) -> Path | None:
        super().close()
        assert self.session_dir is not None
        self.session_dir.mkdir(parents=True, exist_ok=True)
        (self.session_dir / "events.parquet").write_text(f"stub; raids seen: {self.raids}")
        return self.session_dir


if __name__ == "__main__":
    mod = types.ModuleType("bastion.live.driver")
    mod.LiveDriver = StubLiveDriver  # type: ignore[attr-defined]
    sys.modules["bastion.live.driver"] = mod
    from bastion.cli import main

    main(sys.argv[1:])
