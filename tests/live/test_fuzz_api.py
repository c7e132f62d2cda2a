"""Hostile bodies at the API: a bad body is a 4xx (422 for malformed JSON), never a 500,
and never a session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.live.conftest import Site, start_site

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10)


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory) -> Iterator[Site]:
    s = start_site(tmp_path_factory.mktemp("fuzz"), static_dir=None)
    yield s
    s.served.stop()


@pytest.fixture(scope="module")
def commander(fuzz_site: Site) -> Iterator[httpx.Client]:
    with fuzz_site.client("cora") as c:
        yield c


@FUZZ
@given(body=st.binary(max_size=300))
def test_login_raw_bytes(fuzz_site: Site, body: bytes) -> None:
    r = httpx.post(fuzz_site.url + "/api/login", content=body,
                   headers={"content-type": "application/json"})
    assert r.status_code in (401, 422), (body, r.status_code, r.text)
    assert "set-cookie" not in r.headers
    try:
        json.loads(body)
    except ValueError:
        assert r.status_code == 422  # malformed JSON


@FUZZ
@given(body=json_values | st.fixed_dictionaries(
    {"username": st.text(max_size=200), "password": st.text(max_size=200)}))
def test_login_json(fuzz_site: Site, body: object) -> None:
    r = httpx.post(fuzz_site.url + "/api/login", json=body)
    assert r.status_code in (401, 422), (body, r.status_code, r.text)
    assert "set-cookie" not in r.headers


@FUZZ
@given(body=json_values | st.fixed_dictionaries({"mode": json_values}))
def test_weapons_control_json(fuzz_site: Site, commander: httpx.Client, body: object) -> None:
    r = commander.post("/api/weapons-control", json=body)
    ok = isinstance(body, dict) and set(body) == {"mode"} and body["mode"] in (
        "hold", "tight", "free")
    assert r.status_code == (200 if ok else 422), (body, r.status_code, r.text)


@FUZZ
@given(eid=st.text(min_size=1, max_size=30) | st.integers().map(str),
       verb=st.sampled_from(["approve", "reject"]), limit=st.text(max_size=10))
def test_paths_and_queries(fuzz_site: Site, commander: httpx.Client, eid: str, verb: str,
                           limit: str) -> None:
    r = commander.post(f"/api/engagements/{quote(eid, safe='')}/{verb}")
    assert r.status_code in (200, 404, 409, 422), (eid, r.status_code, r.text)
    r = commander.get("/api/audit", params={"limit": limit})
    assert r.status_code in (200, 422), (limit, r.status_code)


@pytest.mark.parametrize("raw", [b'{"mode": Infinity}', b'{"mode": NaN}', b"NaN",
                                 b'{"username": -Infinity, "password": "x"}', b"[1e999]",
                                 b'{"mode": "free", "mode": "hold", "x": 1}', b"\xff\xfe{}"])
def test_non_standard_json(fuzz_site: Site, commander: httpx.Client, raw: bytes) -> None:
    """Python's json reads Infinity/NaN; echoing them back in the error must not 500."""
    h = {"content-type": "application/json"}
    assert commander.post("/api/weapons-control", content=raw, headers=h).status_code == 422
    assert httpx.post(fuzz_site.url + "/api/login", content=raw,
                      headers=h).status_code == 422


def test_validation_errors_never_echo_a_password(fuzz_site: Site) -> None:
    secret = "s3cret-" * 200  # too long: refused by validation
    r = httpx.post(fuzz_site.url + "/api/login", json={"username": "cora", "password": secret})
    assert r.status_code == 422 and "s3cret" not in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "password"]
