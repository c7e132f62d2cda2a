"""What the browser tests share: Debian's Chromium driven by Playwright, the skips when the
UI build, Chromium or Playwright is missing (``tests/conftest.py`` turns them into failures
with ``BASTION_REQUIRE_LIVE=1``), and where screenshots go."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bastion.live.app import WEB_DIST

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15000


def playwright_or_skip(web_dist: Path = WEB_DIST) -> Any:
    """``playwright.sync_api``, or skip the calling test module (call it at import)."""
    if not (web_dist / "index.html").is_file():
        pytest.skip(f"the UI is not built ({web_dist}/index.html missing): cd web && npm ci "
                    "&& npm run build", allow_module_level=True)
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y "
                    "chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api",
                               reason="the python playwright package is not installed")


def launch(sync_api: Any) -> Iterator[Any]:
    """A headless Chromium for a module's tests (the body of a ``browser`` fixture)."""
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
