"""ASTERIX CAT048/CAT062: encode → decode round trips within the items' resolution, the UDP
endpoint on loopback, and a fuzz of the reader with random and mutated bytes."""

from __future__ import annotations

import asyncio
import math
import socket
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.live import asterix as ax
from tests.conftest import small_scenario
from tests.live.sink import RecordingSink, wait_for

SC = small_scenario()
EPOCH = 1_800_000_000.0  # 2027-01-15T08:00:00Z
READER = ax.AsterixReader(SC, epoch_utc=EPOCH, clock=lambda: EPOCH + 50.0)
RADAR = READER.pos[0]


@settings(max_examples=200, deadline=None)
@given(st.floats(200.0, 400_000.0), st.floats(0.0, 359.99), st.floats(-50.0, 9_000.0),
       st.floats(0.0, 86_000.0))
def test_plot_round_trip_within_resolution(r: float, az_deg: float, h: float,
                                           t: float) -> None:
    a = math.radians(az_deg)
    dh = h - float(RADAR[2])
    if abs(dh) >= r:
        return
    rho = math.sqrt(r * r - dh * dh)
    z = RADAR + np.array([rho * math.sin(a), rho * math.cos(a), dh])
    items, bad, _ = ax.decode_datagram(ax.encode_plot(3, 4, z, RADAR, EPOCH + t))
    assert not bad and len(items) == 1
    p = items[0]
    assert isinstance(p, ax.Plot) and (p.sac, p.sic) == (3, 4)
    assert abs(p.range_m - r) <= ax.RHO_LSB_M / 2 + 1e-6
    dth = (p.azimuth_deg - az_deg + 180.0) % 360.0 - 180.0
    assert abs(dth) <= ax.THETA_LSB_DEG / 2 + 1e-9
    assert p.height_m is not None and abs(p.height_m - h) <= ax.HEIGHT_LSB_M / 2 + 1e-6
    assert abs(p.tod_s - (EPOCH + t) % 86_400) <= ax.TOD_LSB_S / 2 + 1e-6


@settings(max_examples=200, deadline=None)
@given(st.floats(-89.0, 89.0), st.floats(-179.9, 179.9), st.floats(0.0, 20_000.0),
       st.integers(0, 65_535), st.floats(0.5, 100.0), st.floats(1.0, 400.0))
def test_track_round_trip_within_resolution(lat: float, lon: float, alt: float, num: int,
                                            sxy: float, salt: float) -> None:
    items, bad, _ = ax.decode_datagram(ax.encode_track(1, 2, num, lat, lon, alt, EPOCH,
                                                    (sxy, sxy), salt))
    assert not bad and len(items) == 1
    t = items[0]
    assert isinstance(t, ax.Track) and t.track == num
    assert t.lat_deg is not None and t.lon_deg is not None and t.alt_m is not None
    assert abs(t.lat_deg - lat) <= ax.LATLON_LSB_DEG / 2 + 1e-12
    assert abs(t.lon_deg - lon) <= ax.LATLON_LSB_DEG / 2 + 1e-12
    assert abs(t.alt_m - alt) <= ax.ALT_LSB_M / 2 + 1e-6
    assert t.sigma_xy_m is not None and abs(t.sigma_xy_m[0] - sxy) <= 0.25 + 1e-9
    assert t.sigma_alt_m is not None and abs(t.sigma_alt_m - salt) <= 1.6


def test_plot_to_detections_polar_from_the_radar() -> None:
    z = RADAR + np.array([6_000.0, 8_000.0, 500.0])
    items, _, _ = ax.decode_datagram(ax.encode_plot(1, 1, z, RADAR, EPOCH + 12.0))
    name, det = READER.to_detections(items[0])
    assert name == SC.sensors[0].name and det.sensor[0] == 0 and det.truth[0] == -1
    assert np.linalg.norm(det.z[0] - z) < 15.0
    assert det.t_s[0] == pytest.approx(12.0, abs=1 / 128)
    # the covariance is the radar's: long across the beam, short along it
    w = np.linalg.eigvalsh(det.R[0])
    assert w[0] > 0 and math.sqrt(w[-1]) > 5 * SC.sensors[0].sigma_range_m
    with pytest.raises(KeyError):
        READER.to_detections(ax.decode_datagram(ax.encode_plot(9, 9, z, RADAR, EPOCH))[0][0])


def test_time_of_day_picks_the_nearest_day() -> None:
    r = ax.AsterixReader(SC, epoch_utc=86_400.0 * 10 - 30.0, clock=lambda: 86_400.0 * 10 + 5)
    assert r.t_s(86_390.0) == pytest.approx(20.0)  # yesterday's 23:59:50
    assert r.t_s(2.0) == pytest.approx(32.0)


def test_udp_endpoint_counts_bad_datagrams_and_submits_good_ones() -> None:
    async def main() -> tuple[RecordingSink, ax.AsterixEndpoint]:
        sink = RecordingSink(EPOCH)
        ep = ax.AsterixEndpoint(SC, sink, clock=lambda: EPOCH + 50.0)
        host, port = await ep.start()
        assert host == "127.0.0.1"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        z = RADAR + np.array([1_000.0, 2_000.0, 300.0])
        good = ax.encode_plot(1, 1, z, RADAR, EPOCH + 3.0)
        lat, lon, h = ax.track_of(READER.geo, z)
        track = ax.encode_track(1, 2, 7, lat, lon, h, EPOCH + 4.0)
        for d in (good, b"\x30\x00\x02", b"garbage!", good[:-2], track,
                  ax.encode_plot(7, 7, z, RADAR, EPOCH), b"\x22\x00\x04\x00", good):
            s.sendto(d, (host, port))
        s.close()
        await wait_for(lambda: ep.counters["datagrams"] == 8)
        ep.close()
        return sink, ep

    sink, ep = asyncio.run(main())
    assert ep.counters["plots"] == 2 and ep.counters["tracks"] == 1
    assert [n for n, _ in sink.dets] == [SC.sensors[0].name, SC.sensors[1].name,
                                         SC.sensors[0].name]
    assert ep.counters["unknown_source"] == 1
    assert ep.counters["bad_messages"] == 4 == sink.counters["bad_messages"]
    assert ep.counters["skipped_blocks"] == 1  # a CAT034 block is not an error
    assert sink.dets[1][1].t_s[0] == pytest.approx(4.0, abs=1 / 128)


# ---------------------------------------------------------------------------- fuzz
def _check_reader(data: bytes) -> None:
    items, bad, _ = ax.decode_datagram(data)
    assert all(isinstance(b, str) for b in bad)
    for it in items:
        try:
            _, det = READER.to_detections(it)
        except (KeyError, ValueError):
            continue
        assert det.m == 1 and np.all(np.isfinite(det.z))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_reader_random_bytes(data: bytes) -> None:
    _check_reader(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_reader_mutated_datablocks(data: Any) -> None:
    z = RADAR + np.array([2_000.0, -3_000.0, 400.0])
    lat, lon, h = ax.track_of(READER.geo, z)
    base = bytearray(ax.encode_plot(1, 1, z, RADAR, EPOCH) +
                     ax.encode_track(1, 2, 3, lat, lon, h, EPOCH, (5.0, 5.0), 10.0))
    for _ in range(data.draw(st.integers(1, 6))):
        base[data.draw(st.integers(0, len(base) - 1))] = data.draw(st.integers(0, 255))
    _check_reader(bytes(base))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=120), min_size=1, max_size=5))
def test_fuzz_endpoint_never_raises_and_counts(datagrams: list[bytes]) -> None:
    sink = RecordingSink(EPOCH)
    ep = ax.AsterixEndpoint(SC, sink, clock=lambda: EPOCH)
    for d in datagrams:
        ep.datagram_received(d, ("127.0.0.1", 9))
    assert ep.counters["datagrams"] == len(datagrams)
    assert ep.counters["reports"] == len(sink.dets)
    bad = sum(ep.counters[k] for k in ("bad_datagrams", "bad_records", "unknown_source",
                                       "bad_value", "rejected"))
    assert ep.counters["bad_messages"] == bad
    # every datagram is accounted: it gave reports, was counted bad or skipped (or was empty)
    assert all(d == b"" for d in datagrams) or \
        ep.counters["reports"] + bad + ep.counters["skipped_blocks"] >= 1
