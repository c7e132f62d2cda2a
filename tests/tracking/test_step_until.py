"""``Tracker.step(..., until_s=)``: a scan-synchronous caller ends each step at its scan end."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.tracking import Tracker


def _scan(trk: Tracker, k: int, until: float | None):
    p = np.array([[0.0, 0.0, 100.0], [5_000.0, 0.0, 100.0]])
    v = np.array([[30.0, 0.0, 0.0], [0.0, -30.0, 0.0]])
    t = k + np.array([0.2, 0.7])
    z = p + v * t[:, None]
    return trk.step(t, z, np.eye(3) * 25.0, until_s=until)


def test_tracks_end_at_until():
    trk = Tracker(id_base=0)
    for k in range(5):
        tr = _scan(trk, k, k + 1.0)
    assert np.all(tr.t_s == 5.0)
    assert trk.clock_s == 5.0


def test_without_until_tracks_end_at_latest_report():
    trk = Tracker(id_base=0)
    for k in range(5):
        tr = _scan(trk, k, None)
    assert np.all(tr.t_s == 4.7)


def test_a_track_does_not_depend_on_other_reports():
    """Adding a far-away target (another replication, say) leaves a track bit-identical."""
    a, b = Tracker(id_base=0), Tracker(id_base=0)
    rng = np.random.default_rng(3)
    for k in range(8):
        t = k + rng.uniform(0, 1, 1)
        z = np.array([[30.0 * t[0], 0.0, 100.0]]) + rng.normal(0, 5, (1, 3))
        t_far = k + rng.uniform(0, 1, 1)
        z_far = np.array([[3.0e6, 1_000.0, 100.0]])
        ta = a.step(t, z, np.eye(3) * 25.0, until_s=k + 1.0)
        tb = b.step(np.concatenate([t_far, t]), np.concatenate([z_far, z]), np.eye(3) * 25.0,
                    until_s=k + 1.0)
    near = tb.position[:, 0] < 1.0e6
    assert np.array_equal(ta.state, tb.state[near])
    assert np.array_equal(ta.covariance, tb.covariance[near])


def test_bad_until_is_rejected():
    trk = Tracker(id_base=0)
    with pytest.raises(ValueError, match="until_s"):
        trk.step(0.0, np.zeros((1, 3)), np.eye(3), until_s=float("nan"))
    assert len(trk.tracks.id) == 0


def test_far_from_origin_tracks_like_near():
    """Tracks 63,000 km east (the simulator offsets lock-step replications) are filtered as
    they are at the origin: no second-moment cancellation in the IMM mixing."""
    rng = np.random.default_rng(5)
    near, far = Tracker(id_base=0), Tracker(id_base=0)
    off = np.array([6.3e7, 0.0, 0.0])
    p = np.array([[2_000.0, 300.0, 150.0]])
    for k in range(60):
        t = k + rng.uniform(0, 1, 1)
        # turning target, precise across and coarse along (a radar close by)
        z = p + 40.0 * np.array([[np.cos(0.05 * k), np.sin(0.05 * k), 0.0]]) * t[0]
        R = np.diag([225.0, 0.3, 1.0])[None]
        z = z + rng.normal(0, 1, (1, 3)) * np.sqrt(np.diag(R[0]))
        a = near.step(t, z, R, until_s=k + 1.0)
        b = far.step(t, z + off, R, until_s=k + 1.0)
    assert np.allclose(b.position - off, a.position, atol=1e-3)
    assert np.allclose(b.covariance, a.covariance, rtol=1e-4, atol=1e-6)
    assert np.linalg.eigvalsh(b.covariance).min() > 0


def test_slow_sensor_tracks_do_not_miss_the_fast_sensors_steps():
    """Sensor 0 scans every step, sensor 1 every third: a target only sensor 1 sees keeps
    its track when the caller says which sensors scanned, and loses it when every step
    counts as a miss."""

    def run(tell: bool) -> int:
        trk = Tracker(id_base=0)
        for k in range(30):
            t = float(k)
            slow = k % 3 == 2
            zs = [np.array([[25.0 * t, 0.0, 100.0]])] if slow else []
            zf = [np.array([[9_000.0, 25.0 * t, 100.0]])]
            z = np.concatenate(zf + zs)
            sensor = np.array([0] + ([1] if slow else []))
            scanned = np.array([0, 1] if slow else [0]) if tell else None
            tr = trk.step(np.full(len(z), t), z, np.eye(3) * 25.0, sensor=sensor,
                          until_s=t, scanned=scanned)
        return int((tr.confirmed & (tr.position[:, 0] < 5_000.0)).sum())

    assert run(tell=True) == 1
    assert run(tell=False) == 0


def test_scanned_must_name_sensors():
    trk = Tracker(id_base=0)
    with pytest.raises(ValueError, match="scanned"):
        trk.step(0.0, np.zeros((1, 3)), np.eye(3), scanned=np.array([60]))
