"""``bastion feed`` into the SAPIENT server (and the ASTERIX endpoint) on loopback: every
simulated report arrives, in order per node, from the right sensor, where the simulator
put it."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from bastion.core.detections import Detections
from bastion.live.asterix import (
    HEIGHT_LSB_M,
    RHO_LSB_M,
    THETA_LSB_DEG,
    AsterixEndpoint,
)
from bastion.live.sapient_server import SapientServer
from bastion.sim.feed import FeedError, FeedPlan, parse_address, plan, play
from tests.conftest import small_scenario
from tests.live.sink import RecordingSink, wait_for

EPOCH = 1_800_000_000.0


@pytest.fixture(scope="module")
def small_plan() -> FeedPlan:
    return plan(small_scenario(), 0)


def _by_node(sink: RecordingSink) -> dict[str, Detections]:
    out: dict[str, list[Detections]] = {}
    for node, d in sink.dets:
        out.setdefault(node, []).append(d)
    return {k: Detections(*(np.concatenate([getattr(d, f) for d in v]) for f in
                            ("t_s", "sensor", "z", "R", "evidence", "truth", "group")))
            for k, v in out.items()}


def test_feed_delivers_every_report_in_order(small_plan: FeedPlan) -> None:
    p = small_plan
    sc = p.scenario
    assert p.detections.m > 100

    async def main() -> tuple[RecordingSink, SapientServer, object]:
        sink = RecordingSink(EPOCH)
        srv = SapientServer(sc, sink)
        await srv.start()

        async def task_the_gun() -> None:
            await wait_for(lambda: "gun" in srv.by_name, 10.0)
            assert srv.send_task("gun", 42, {"id": 1, "lat": 35.0, "lon": 35.0}) is not None

        tasker = asyncio.create_task(task_the_gun())
        st = await play(p, "127.0.0.1", srv.port, speed=5_000.0, epoch_utc=EPOCH)
        await tasker
        await wait_for(lambda: sum(d.m for _, d in sink.dets) == p.detections.m)
        await wait_for(lambda: bool(sink.acks))
        await srv.close()
        return sink, srv, st

    sink, srv, st = asyncio.run(main())
    assert st.errors == 0 and srv.counters["bad_messages"] == 0  # type: ignore[attr-defined]
    assert st.registrations == len(sc.sensors) + len(sc.effectors)  # type: ignore[attr-defined]
    assert sink.acks == [("gun", 42, "accepted")]
    got = _by_node(sink)
    sim = p.detections
    names = [s.name for s in sc.sensors]
    for j in np.unique(sim.sensor):
        mine = np.flatnonzero(sim.sensor == j)
        g = got[names[j]]
        assert g.m == mine.size
        assert np.all(g.sensor == j)
        # in order: the simulator's times, to the nanosecond the timestamps carry
        np.testing.assert_allclose(g.t_s, sim.t_s[mine], atol=2e-9)
        err = np.linalg.norm(g.z - sim.z[mine], axis=1)
        assert err.max() < 1.0, (names[j], err.max())
        # a radar's covariance crosses the wire too (range/bearing, same sigmas)
        if sc.sensors[j].kind == "radar":
            np.testing.assert_allclose(g.R, sim.R[mine], rtol=1e-5, atol=1e-6)
        # evidence: the same likelihood ratios
        ev_sim = sim.evidence[mine] - sim.evidence[mine].max(axis=1, keepdims=True)
        ev_got = g.evidence - g.evidence.max(axis=1, keepdims=True)
        np.testing.assert_allclose(ev_got, ev_sim, atol=1e-5)
    # status reports named every sensor with its position
    seen = {n for n, s in sink.status if s.get("health") == "ok"}
    assert seen == set(names)


def test_feed_radar_as_asterix(small_plan: FeedPlan) -> None:
    p = small_plan
    sc = p.scenario
    radar = [i for i, s in enumerate(sc.sensors) if s.kind == "radar"]

    async def main() -> tuple[RecordingSink, AsterixEndpoint]:
        sink = RecordingSink(EPOCH)
        srv = SapientServer(sc, sink)
        await srv.start()
        ep = AsterixEndpoint(sc, sink, clock=lambda: EPOCH + 100.0)
        host, port = await ep.start()
        await play(p, "127.0.0.1", srv.port, speed=5_000.0, epoch_utc=EPOCH,
                   asterix_to=(host, port))
        await wait_for(lambda: sum(d.m for _, d in sink.dets) == p.detections.m)
        await srv.close()
        ep.close()
        return sink, ep

    sink, ep = asyncio.run(main())
    assert ep.counters["plots"] == int(np.isin(p.detections.sensor, radar).sum())
    assert ep.counters["bad_messages"] == 0
    g = _by_node(sink)[sc.sensors[radar[0]].name]
    mine = np.flatnonzero(p.detections.sensor == radar[0])
    d = p.detections.z[mine] - g.z
    r = np.linalg.norm(p.detections.z[mine] - g.z + 0.0, axis=1)
    rng = np.linalg.norm(p.detections.z[mine], axis=1)
    # within the items' resolution: half an LSB of range, azimuth (at that range), height
    bound = RHO_LSB_M + rng * math.radians(THETA_LSB_DEG) + 2 * HEIGHT_LSB_M
    assert np.all(r <= bound), float((r - bound).max())
    assert np.all(np.isfinite(d))
    np.testing.assert_allclose(g.t_s, p.detections.t_s[mine], atol=1 / 128)


def test_unreachable_server_is_a_feed_error(small_plan: FeedPlan) -> None:
    with pytest.raises(FeedError, match="cannot connect"):
        asyncio.run(play(small_plan, "127.0.0.1", 1, speed=100.0))


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8001", "--to") == ("127.0.0.1", 8001)
    assert parse_address("[::1]:9", "--to") == ("::1", 9)
    for bad in ("nohost", ":80", "h:x", "h:70000"):
        with pytest.raises(ValueError, match="--to"):
            parse_address(bad, "--to")


def _with_gap(p: FeedPlan, at_s: float, gap_s: float) -> FeedPlan:
    """``p`` with ``gap_s`` of quiet inserted at ``at_s``: later reports shifted, as a raid
    that comes later would be."""
    d = p.detections
    late = d.t_s > at_s
    t = d.t_s + np.where(late, gap_s, 0.0)
    shifted = Detections(t, d.sensor, d.z, d.R, d.evidence, d.truth, d.group)
    return FeedPlan(p.scenario, p.replication, shifted,
                    p.delivered_s + np.where(p.delivered_s > at_s, gap_s, 0.0),
                    p.t_end_s + gap_s)


def _received(p: FeedPlan, speed: float, skip: float | None) -> tuple[RecordingSink, object]:
    async def main() -> tuple[RecordingSink, object]:
        sink = RecordingSink(EPOCH)
        srv = SapientServer(p.scenario, sink)
        await srv.start()
        st = await play(p, "127.0.0.1", srv.port, speed=speed, epoch_utc=EPOCH,
                        skip_quiet_s=skip)
        await wait_for(lambda: sum(d.m for _, d in sink.dets) == p.detections.m)
        await srv.close()
        return sink, st

    return asyncio.run(main())


def test_quiet_time_is_skipped_without_changing_what_is_sent(small_plan: FeedPlan) -> None:
    gap = 2_000.0  # half an hour of nothing: 20 s of wall time at ×100 without the skip
    p = _with_gap(small_plan, 300.0, gap)
    sink, st = _received(p, 100.0, 5.0)
    # the gap was jumped over (the play itself ran ~6 s of wall time, not ~26)
    assert st.skips >= 1 and st.skipped_s > gap - 10.0  # type: ignore[attr-defined]
    # the status rounds of the gap (one every 5 simulated seconds) collapsed into one each
    rounds = int(p.t_end_s // 5.0) + 1
    n_sensors = len(p.scenario.sensors)
    assert st.status_reports <= (rounds - gap / 5.0 + 10) * n_sensors  # type: ignore[attr-defined]
    assert st.status_reports >= (small_plan.t_end_s / 5.0) * n_sensors  # type: ignore[attr-defined]
    # what arrived — every report, its node, its timestamp, its position — is what a feed
    # without the skip sends (played fast here so the test does not wait the gap out)
    ref, st0 = _received(p, 5_000.0, None)
    assert st0.skips == 0  # type: ignore[attr-defined]
    a, b = _by_node(sink), _by_node(ref)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k].t_s, b[k].t_s)
        np.testing.assert_array_equal(a[k].z, b[k].z)
    got = np.sort(np.concatenate([d.t_s for d in a.values()]))
    np.testing.assert_allclose(got, np.sort(p.detections.t_s), atol=2e-9)


def test_bad_skip_setting_is_a_feed_error(small_plan: FeedPlan) -> None:
    with pytest.raises(FeedError, match="skip_quiet_s"):
        asyncio.run(play(small_plan, "127.0.0.1", 1, speed=100.0, skip_quiet_s=-1.0))


def test_feed_into_the_server_on_uvloop(small_plan: FeedPlan) -> None:
    """``bastion serve`` runs under uvicorn, which runs on uvloop when it is installed: its
    transports are no asyncio.Transport subclasses, and the server must take them."""
    uvloop = pytest.importorskip("uvloop")
    p = small_plan

    async def main() -> tuple[RecordingSink, SapientServer, object]:
        sink = RecordingSink(EPOCH)
        srv = SapientServer(p.scenario, sink)
        await srv.start()
        st = await play(p, "127.0.0.1", srv.port, speed=5_000.0, epoch_utc=EPOCH)
        await wait_for(lambda: sum(d.m for _, d in sink.dets) == p.detections.m)
        await srv.close()
        return sink, srv, st

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sink, srv, st = runner.run(main())
    assert st.registrations == len(p.scenario.sensors) + len(p.scenario.effectors)  # type: ignore[attr-defined]
    assert srv.counters["bad_messages"] == 0
    assert sum(d.m for _, d in sink.dets) == p.detections.m
