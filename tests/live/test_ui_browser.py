"""The browser air picture (web/, built into live/web_dist) driven in Debian's Chromium.

Against the stand-in service in ui_stub.py (the docs/live.md API with canned, changing data):
an operator logs in, sees hostile tracks as 2525 symbols, approves an engagement and sees its
result on the list and the map; a viewer's approve is refused (403), shown, and changes
nothing; a commander changes weapons control; the picture keeps coming by polling when the
WebSocket is down. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live.browser import TIMEOUT_MS, launch, playwright_or_skip, screenshot
from tests.live.ui_stub import WEB_DIST, StubServer

sync_api = playwright_or_skip(WEB_DIST)
expect = sync_api.expect
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch(sync_api)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as s:
        yield s


@pytest.fixture
def page(browser: Any, stub: StubServer) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    outside: list[str] = []  # the page must need nothing but the service (no CDN, no tiles)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on(
        "request",
        lambda r: None if r.url.startswith((stub.url, "data:")) else outside.append(r.url),
    )
    pg.goto(stub.url)
    yield pg
    ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not outside, f"requests beyond the service: {outside}"


def shot(page: Any, name: str) -> None:
    screenshot(page, f"ui-{name}")


def login(page: Any, user: str, password: str | None = None) -> None:
    page.get_by_test_id("login-username").fill(user)
    page.get_by_test_id("login-password").fill(password or f"{user}-pw")
    page.get_by_test_id("login-submit").click()


def test_operator_sees_2525_tracks_and_approves_an_engagement(page: Any, stub: StubServer) -> None:
    login(page, "operator", "wrong")
    expect(page.get_by_test_id("login-error")).to_contain_text("wrong user name or password")
    shot(page, "login-refused")
    login(page, "operator")
    expect(page.get_by_test_id("user-role")).to_have_text("operator")

    # Hostile tracks drawn as MIL-STD-2525D air symbols (identity digit 6 = hostile).
    fw = page.get_by_test_id("track-marker-1")
    expect(fw.locator("svg")).to_have_count(1)
    expect(fw).to_have_attribute("data-identity", "hostile")
    expect(fw).to_have_attribute("data-sidc", "10060100001103000000")  # fixed-wing UAV
    expect(page.get_by_test_id("track-marker-5")).to_have_attribute(
        "data-sidc", "10060100001104000000"
    )  # rotary
    expect(page.get_by_test_id("track-marker-3")).to_have_attribute(
        "data-identity", "neutral"
    )  # the bird
    expect(page.get_by_test_id("track-marker-4")).to_have_attribute("data-identity", "friend")
    expect(page.get_by_test_id("track-marker-2")).to_have_attribute(
        "data-sidc", "10010110001104000000"
    )  # tentative
    expect(fw.locator(".trk-label")).to_contain_text("T1 35 m/s 450 m")
    fw.hover()
    expect(page.locator(".leaflet-tooltip")).to_contain_text("T1 hostile fixed-wing (confirmed)")

    # Threat queue ranked by time-to-go: the fast fixed-wing first; site geometry and health.
    rows = page.locator("#threats tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-testid", "threat-row-1")
    expect(rows.nth(1)).to_have_attribute("data-testid", "threat-row-5")
    expect(page.locator("path.nfz")).to_have_count(1)
    expect(page.get_by_test_id("sensor-row-tartus-radar")).to_have_attribute("data-health", "fault")
    expect(page.get_by_test_id("sensor-row-khm-eoir")).to_have_attribute("data-health", "degraded")
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("engagement-state-1")).to_have_text("proposed")
    expect(page.get_by_test_id("engagement-countdown-1")).to_contain_text(" s")
    expect(page.get_by_test_id("approve-1")).not_to_have_attribute("aria-disabled", "true")
    shot(page, "operator-picture")

    page.get_by_test_id("approve-1").click()
    expect(page.get_by_test_id("ui-message")).to_contain_text("Engagement #1 approved")
    expect(page.get_by_test_id("engagement-result-1")).to_have_text("killed")
    expect(page.get_by_test_id("engagement-state-1")).to_have_text("assessed")
    expect(page.get_by_test_id("approve-1")).to_be_hidden()
    # On the map: a result marker, and the symbol struck through (2525D status 4: destroyed).
    expect(page.get_by_test_id("result-marker-1")).to_be_visible()
    expect(fw).to_have_attribute("data-sidc", "10060140001103000000")
    shot(page, "operator-after-approve")
    assert stub.state.engagements[1].decided_by == "operator"
    assert stub.state.engagements[2].state == "proposed"

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-username")).to_be_visible()


def test_viewer_approve_is_refused_and_changes_nothing(page: Any, stub: StubServer) -> None:
    login(page, "viewer")
    expect(page.get_by_test_id("user-role")).to_have_text("viewer")
    approve = page.get_by_test_id("approve-2")
    expect(approve).to_have_attribute("aria-disabled", "true")
    expect(approve).to_have_attribute(
        "title", "Your role (viewer) cannot decide: needs operator or commander"
    )

    # The button only looks disabled (Playwright counts aria-disabled as not enabled, hence
    # force): the click still reaches the service, the authority: a 403, shown, no change.
    approve.click(force=True)
    msg = page.get_by_test_id("ui-message")
    expect(msg).to_contain_text("Refused (403)")
    expect(msg).to_have_attribute("data-kind", "error")
    expect(page.get_by_test_id("engagement-state-2")).to_have_text("proposed")
    shot(page, "viewer-refused")
    page.get_by_test_id("wc-free").click(force=True)
    expect(msg).to_contain_text("only a commander changes weapons control")
    expect(page.get_by_test_id("weapons-control")).to_have_attribute("data-mode", "tight")
    assert stub.state.engagements[2].state == "proposed"
    assert stub.state.engagements[2].decided_by is None
    assert stub.state.weapons_control == "tight"
    assert ("viewer", "/api/engagements/2/approve") in stub.state.refused


def test_commander_changes_weapons_control(page: Any, stub: StubServer) -> None:
    login(page, "commander")
    expect(page.get_by_test_id("wc-tight")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("wc-hold").click()
    expect(page.get_by_test_id("wc-hold")).to_have_attribute("aria-pressed", "true")
    assert stub.state.weapons_control == "hold"


def test_picture_keeps_coming_by_polling_when_the_websocket_is_down(
    page: Any, stub: StubServer
) -> None:
    stub.state.ws_enabled = False
    login(page, "operator")
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "polling")
    expect(page.get_by_test_id("track-marker-1").locator("svg")).to_have_count(1)
    stub.state.ws_enabled = True
    # Reconnect backoff doubles from 1 s to at most 15 s: allow for one full wait.
    expect(page.get_by_test_id("link-state")).to_have_attribute("data-state", "live", timeout=25000)


def test_threat_row_click_centres_the_map_on_the_track(page: Any, stub: StubServer) -> None:
    login(page, "operator")
    marker = page.get_by_test_id("track-marker-5")
    expect(marker.locator("svg")).to_have_count(1)
    page.get_by_test_id("threat-row-5").click()
    # The track's position (the symbol's anchor) is now in the middle of the map, to within
    # the few pixels the track moves (15 m/s) before the boxes are read.
    box = page.get_by_test_id("map").bounding_box()
    sym = marker.bounding_box()
    assert box is not None and sym is not None
    ax = sym["x"] + float(marker.get_attribute("data-anchor-x"))
    ay = sym["y"] + float(marker.get_attribute("data-anchor-y"))
    assert abs(ax - (box["x"] + box["width"] / 2)) < 8
    assert abs(ay - (box["y"] + box["height"] / 2)) < 8
