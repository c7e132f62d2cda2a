"""The quiet "cruise" CV mode of the default IMM: it must earn its weight in straight flight and
give it up in a turn, and switching it off must give the three-model IMM."""

import numpy as np
import pytest

from bastion.tracking import Tracker, TrackerConfig
from bastion.tracking.models import MotionModels

R5 = np.eye(3) * 25.0
CV, LEFT, RIGHT, CRUISE = range(4)


def _fly(trk, rng, n_targets, scans, t0, pos, heading, speed, turn_rate_rad_s=0.0, sub=10):
    """Targets on smooth paths (sub-stepped), one report each per scan (Pd = 1, σ = 5 m)."""
    for k in range(scans):
        for _ in range(sub):
            heading = heading + turn_rate_rad_s / sub
            pos = pos + (speed / sub) * np.column_stack(
                [np.cos(heading), np.sin(heading), np.zeros(n_targets)])
        tracks = trk.step(t0 + k, pos + rng.normal(0, 5, pos.shape), R5)
    return pos, heading, tracks


def _straight_then_turn(cfg, seed=0, n=6):
    rng = np.random.default_rng(seed)
    pos = np.column_stack([np.arange(n) * 3000.0, np.zeros(n), np.full(n, 100.0)])
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = 30.0
    trk = Tracker(cfg, id_base=0)
    pos, heading, straight = _fly(trk, rng, n, 30, 0.0, pos, heading, speed)
    pos, heading, turning = _fly(trk, rng, n, 8, 30.0, pos, heading, speed,
                                 turn_rate_rad_s=np.radians(12.0))
    return straight, turning


def test_cruise_mode_gains_weight_in_straight_flight_and_loses_it_in_a_turn():
    cfg = TrackerConfig()
    assert cfg.n_models == 4 and cfg.q_cruise_m2_s3 < cfg.q_cv_m2_s3
    straight, turning = _straight_then_turn(cfg)
    assert straight.confirmed.sum() == 6
    mu = straight.mode_probabilities
    # From its prior 0.45 to most of the weight, and well ahead of the noisier CV mode.
    assert np.all(mu[:, CRUISE] > 0.7) and np.median(mu[:, CRUISE]) > 0.85
    assert np.all(mu[:, CRUISE] > 5 * mu[:, CV])
    assert np.all(mu[:, LEFT] + mu[:, RIGHT] < 0.1)
    # Eight scans into a 12 °/s left turn the same tracks follow it in the left-turn mode.
    kept = np.isin(turning.id, straight.id) & turning.confirmed
    assert kept.sum() >= 5
    mt = turning.mode_probabilities[kept]
    before = mu[np.isin(straight.id, turning.id[kept]), CRUISE]
    assert np.all(mt[:, CRUISE] < 0.2) and np.all(mt[:, CRUISE] < before / 5)
    assert np.all(mt[:, LEFT] > 0.6) and np.median(mt[:, LEFT]) > 0.75


def test_a_cruise_mode_as_noisy_as_cv_gains_nothing():
    # Control for the test above: the weight comes from the lower noise, not from the prior or
    # the mode order. Two identical straight modes keep their equal prior split.
    straight, _ = _straight_then_turn(TrackerConfig(q_cruise_m2_s3=1.0))
    mu = straight.mode_probabilities
    np.testing.assert_allclose(mu[:, CRUISE], mu[:, CV], rtol=1e-6)
    assert np.all(mu[:, CRUISE] < 0.5)


def test_cruise_mode_is_more_accurate_on_straight_targets():
    # Same reports, defaults against the three-model IMM: the quiet mode must pay for itself
    # on a long straight leg (position error over the last 20 scans).
    rng = np.random.default_rng(11)
    n = 8
    pos0 = np.column_stack([np.arange(n) * 3000.0, np.zeros(n), np.full(n, 100.0)])
    vel = 35.0 * np.column_stack([np.cos(rng.uniform(0, 6.3, n)), np.sin(rng.uniform(0, 6.3, n)),
                                  np.zeros(n)])
    noise = rng.normal(0, 5, (40, n, 3))
    err = {}
    for name, cfg in (("4", TrackerConfig()), ("3", TrackerConfig(q_cruise_m2_s3=0.0))):
        trk = Tracker(cfg, id_base=0)
        e = []
        for k in range(40):
            truth = pos0 + vel * k
            tr = trk.step(float(k), truth + noise[k], R5)
            if k >= 20:
                e.append(np.linalg.norm(tr.position - truth, axis=1).mean())
        err[name] = np.mean(e)
    assert err["4"] < 0.9 * err["3"]


def test_cruise_mode_off_gives_the_three_model_imm():
    cfg = TrackerConfig(q_cruise_m2_s3=0.0)
    assert cfg.n_models == 3
    # The default prior's cruise share goes to CV.
    assert cfg.initial_mode_probabilities == pytest.approx((0.9, 0.05, 0.05))
    m = MotionModels.from_config(cfg)
    np.testing.assert_allclose(m.q_horizontal_m2_s3, [1.0, 49.0, 49.0])
    m4 = MotionModels.from_config(TrackerConfig())
    np.testing.assert_allclose(m4.turn_rate_rad_s[[CV, CRUISE]], 0.0)
    np.testing.assert_allclose(m4.q_horizontal_m2_s3, [1.0, 49.0, 49.0, 0.1])
    np.testing.assert_allclose(m4.exit_rate_hz, [0.02, 0.05, 0.05, 0.02])
    tr = Tracker(cfg, id_base=0).step(0.0, np.zeros((1, 3)), R5)
    assert tr.mode_probabilities.shape == (1, 3)
    assert Tracker(id_base=0).step(0.0, np.zeros((1, 3)), R5).mode_probabilities.shape == (1, 4)


def test_cruise_config_validated():
    for kw in ({"q_cruise_m2_s3": -0.1}, {"q_cruise_m2_s3": float("inf")},
               {"cruise_exit_rate_hz": -1.0},
               {"initial_mode_probabilities": (0.9, 0.05, 0.05)},  # 4 modes need 4
               {"q_cruise_m2_s3": 0.0, "initial_mode_probabilities": (0.5, 0.5)}):
        with pytest.raises(ValueError):
            TrackerConfig(**kw)
