import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.tracking import polar_to_enu

SENSOR = np.array([100.0, -200.0, 15.0])


def _true_enu(r, az, el):
    return SENSOR + np.stack(
        [r * np.cos(el) * np.sin(az), r * np.cos(el) * np.cos(az), r * np.sin(el)], axis=-1
    )


def test_noise_free_conversion_is_exact_geometry():
    z, R = polar_to_enu(SENSOR, [1000.0], [np.pi / 2], [0.0], 0.0, 0.0, 0.0)
    np.testing.assert_allclose(z[0], SENSOR + np.array([1000.0, 0.0, 0.0]), atol=1e-9)  # due east
    z, _ = polar_to_enu(SENSOR, [1000.0], [0.0], [np.pi / 6], 0.0, 0.0, 0.0)
    north = np.array([0.0, 1000 * np.cos(np.pi / 6), 500.0])
    np.testing.assert_allclose(z[0], SENSOR + north, atol=1e-9)
    np.testing.assert_allclose(R, 0.0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    r=st.floats(2_000, 20_000),
    az=st.floats(-np.pi, np.pi),
    el=st.floats(-0.2, 1.2),
    s_ang=st.floats(1e-3, 3e-2),
    s_r=st.floats(1.0, 50.0),
)
def test_unbiased_in_expectation_and_covariance_consistent(r, az, el, s_ang, s_r):
    rng = np.random.default_rng(0)
    n = 40_000
    rm = r + rng.normal(0, s_r, n)
    am = az + rng.normal(0, s_ang, n)
    em = el + rng.normal(0, s_ang, n)
    z, R = polar_to_enu(SENSOR, rm, am, em, s_r, s_ang, s_ang)
    truth = _true_enu(r, az, el)
    err = z - truth
    cov = np.cov(err.T)
    # Mean error within 4 standard errors of zero, per axis.
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(err.mean(axis=0)) < 4 * se + 1e-9)
    # The reported covariance (averaged over reports) matches the empirical one to within 10 %
    # of the largest error variance (the cross-range one at these geometries).
    Rbar = R.mean(axis=0)
    assert np.all(np.abs(Rbar - cov) < 0.1 * np.diag(cov).max())


def test_naive_conversion_would_be_biased():
    # At a large angle error the naive conversion pulls points towards the sensor; UCM does not.
    rng = np.random.default_rng(1)
    n, r, s = 200_000, 15_000.0, 0.05
    am = rng.normal(0, s, n)
    em = 0.3 + rng.normal(0, s, n)
    z, _ = polar_to_enu(SENSOR, np.full(n, r), am, em, 0.0, s, s)
    naive_range = r * np.cos(em) * np.cos(am)  # north component without debiasing
    true_north = r * np.cos(0.3)
    assert abs(naive_range.mean() - true_north) > 20.0
    assert abs((z[:, 1] - SENSOR[1]).mean() - true_north) < 5.0


@settings(max_examples=50, deadline=None)
@given(
    r=st.floats(10.0, 30_000),
    az=st.floats(-4, 4),
    el=st.floats(-1.5, 1.5),
    s_r=st.floats(0.1, 100.0),
    s_a=st.floats(1e-5, 0.1),
    s_e=st.floats(1e-5, 0.1),
)
def test_covariance_symmetric_positive_definite(r, az, el, s_r, s_a, s_e):
    _, R = polar_to_enu(SENSOR, [r], [az], [el], s_r, s_a, s_e)
    np.testing.assert_allclose(R[0], R[0].T)
    assert np.all(np.linalg.eigvalsh(R[0]) > 0)


def test_bad_polar_input_rejected():
    with pytest.raises(ValueError):
        polar_to_enu(SENSOR, [np.nan], [0.0], [0.0], 1.0, 1e-3, 1e-3)
    with pytest.raises(ValueError):
        polar_to_enu(SENSOR, [1.0, 2.0], [0.0], [0.0], 1.0, 1e-3, 1e-3)
    with pytest.raises(ValueError):
        polar_to_enu(SENSOR, [-1.0], [0.0], [0.0], 1.0, 1e-3, 1e-3)
    with pytest.raises(ValueError):
        polar_to_enu([0.0, 0.0], [1.0], [0.0], [0.0], 1.0, 1e-3, 1e-3)
