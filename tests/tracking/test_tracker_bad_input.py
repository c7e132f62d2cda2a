"""Bad input gets a clear error or a defined behaviour, and never corrupts the state."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.tracking import Tracker, TrackerConfig

R5 = np.eye(3) * 25.0


def _warm_tracker():
    rng = np.random.default_rng(0)
    p = rng.uniform(-2000, 2000, (6, 3))
    v = rng.normal(0, 30, (6, 3))
    trk = Tracker(id_base=0)
    for k in range(6):
        trk.step(float(k), p + v * k + rng.normal(0, 5, p.shape), R5)
    return trk, p + v * 6


def _snapshot(trk):
    t = trk.tracks
    return (t.id.copy(), t.state.copy(), t.covariance.copy(), t.status.copy(),
            copy.deepcopy(trk.stats), trk.clock_s)


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


BAD_CASES = {
    "nan in z": lambda z: (6.0, np.where(np.arange(18).reshape(6, 3) == 4, np.nan, z), R5),
    "inf in z": lambda z: (6.0, np.where(np.arange(18).reshape(6, 3) == 4, np.inf, z), R5),
    "nan in R": lambda z: (6.0, z, np.where(np.eye(3) > 0, np.nan, 0.0)),
    "inf in per-report R": lambda z: (6.0, z, np.stack([R5] * 5 + [R5 * np.inf])),
    "R not PD": lambda z: (6.0, z, np.diag([25.0, -1.0, 25.0])),
    "R singular": lambda z: (6.0, z, np.diag([25.0, 0.0, 25.0])),
    "R asymmetric": lambda z: (6.0, z, R5 + np.triu(np.ones((3, 3)), 1)),
    "z wrong width": lambda z: (6.0, z[:, :2], R5),
    "z 1-D": lambda z: (6.0, z[0], R5),
    "R wrong shape": lambda z: (6.0, z, np.eye(2)),
    "R wrong count": lambda z: (6.0, z, np.stack([R5] * 4)),
    "t wrong count": lambda z: (np.zeros(4) + 6.0, z, R5),
    "t nan": lambda z: (np.nan, z, R5),
    "t inf per report": lambda z: (np.array([6.0] * 5 + [np.inf]), z, R5),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_raises_and_leaves_state_untouched(case):
    trk, z = _warm_tracker()
    before = _snapshot(trk)
    t, zz, R = BAD_CASES[case](z)
    with pytest.raises(ValueError):
        trk.step(t, zz, R)
    _assert_same(before, _snapshot(trk))
    # The tracker still works afterwards.
    trk.step(6.0, z, R5)
    assert trk.tracks.confirmed.sum() == 6


def test_bad_sensor_and_evidence_rejected():
    trk, z = _warm_tracker()
    before = _snapshot(trk)
    with pytest.raises(ValueError):
        trk.step(6.0, z, R5, sensor=np.zeros(3, int))
    with pytest.raises(ValueError):
        trk.step(6.0, z, R5, sensor=np.zeros(6, float))
    with pytest.raises(ValueError):
        trk.step(6.0, z, R5, evidence=np.full((6, 2), np.nan))
    with pytest.raises(ValueError):
        trk.step(6.0, z, R5, evidence=np.zeros(6))
    _assert_same(before, _snapshot(trk))


def test_time_going_backwards_is_rejected_and_counted():
    trk, z = _warm_tracker()
    before = _snapshot(trk)
    tr = trk.step(2.0, z, R5)  # every report is older than the clock (5 s)
    assert trk.stats["oosm_rejected"] == 6
    assert trk.stats["steps_ignored"] == 1
    np.testing.assert_array_equal(trk.last_association, -np.ones(6, np.int64))
    np.testing.assert_array_equal(tr.state, before[1])
    assert trk.clock_s == before[5]
    # An empty scan stamped in the past is ignored too (no life-cycle tick).
    trk.step(1.0, np.empty((0, 3)), R5)
    assert trk.stats["steps_ignored"] == 2
    np.testing.assert_array_equal(trk.tracks.state, before[1])


def test_empty_scans_in_every_form():
    trk = Tracker(id_base=0)
    for z in (np.empty((0, 3)), np.empty(0), []):
        tr = trk.step(0.0, z, R5)
        assert len(tr) == 0
        assert trk.last_association.shape == (0,)
    tr = trk.step(1.0, np.empty((0, 3)), np.empty((0, 3, 3)))
    assert len(tr) == 0
    x, P = trk.predict(5.0)
    assert x.shape == (0, 6) and P.shape == (0, 6, 6)


def test_invalid_config_rejected():
    for kw in ({"q_cv_m2_s3": -1.0}, {"gate_probability": 1.0}, {"confirm_m": 5, "confirm_n": 4},
               {"association": "mht"}, {"initial_mode_probabilities": (0.5, 0.5)},
               {"init_velocity_sigma_m_s": float("nan")}):
        with pytest.raises(ValueError):
            TrackerConfig(**kw)
    with pytest.raises(ValueError):
        Tracker(id_base=-1)
    trk = Tracker(id_base=0)
    with pytest.raises(ValueError):
        trk.predict(float("nan"))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), m=st.integers(0, 12),
       scale=st.sampled_from([1e-6, 1.0, 1e6]))
def test_random_valid_scans_keep_covariances_positive_definite(seed, m, scale):
    rng = np.random.default_rng(seed)
    trk = Tracker(id_base=0)
    for k in range(5):
        z = rng.uniform(-1000, 1000, (m, 3))
        A = rng.normal(size=(m, 3, 3)) * np.sqrt(scale)
        R = A @ np.swapaxes(A, 1, 2) + np.eye(3) * scale * 0.01
        tr = trk.step(float(k), z, R)
        assert np.all(np.isfinite(tr.state))
        if len(tr):
            assert np.all(np.linalg.eigvalsh(tr.covariance) > 0)
