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


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 40))
def test_scalar_and_per_report_sigmas_give_the_same_bits(seed, m):
    # one sensor's sigmas are converted once per call, per-report ones per row: same numbers
    rng = np.random.default_rng(seed)
    r, a, e = rng.uniform(0, 3e4, m), rng.uniform(-4, 4, m), rng.uniform(-1.5, 1.5, m)
    s_r, s_a, s_e = 12.0, 0.004, 0.009
    z1, R1 = polar_to_enu(SENSOR, r, a, e, s_r, s_a, s_e)
    z2, R2 = polar_to_enu(SENSOR, r, a, e, np.full(m, s_r), np.full(m, s_a), np.full(m, s_e))
    assert np.array_equal(z1, z2) and np.array_equal(R1, R2)
    # mixed per-report sigmas: each row is the conversion of that row alone
    sa = rng.uniform(1e-4, 0.05, m)
    z3, R3 = polar_to_enu(SENSOR, r, a, e, s_r, sa, s_e)
    for i in range(m):
        zi, Ri = polar_to_enu(SENSOR, r[i:i + 1], a[i:i + 1], e[i:i + 1], s_r, sa[i], s_e)
        assert np.array_equal(z3[i], zi[0]) and np.array_equal(R3[i], Ri[0])


def test_bad_input_reported_in_the_documented_order():
    ok = dict(range_m=[1.0, 2.0], azimuth_rad=[0.0, 0.1], elevation_rad=[0.0, 0.1],
              sigma_range_m=1.0, sigma_azimuth_rad=1e-3, sigma_elevation_rad=1e-3)
    cases = [
        (dict(azimuth_rad=[0.0, np.inf], range_m=[-1.0, np.nan]), "range_m contains"),
        (dict(azimuth_rad=[0.0, np.inf], range_m=[-1.0, 2.0]), "azimuth_rad contains"),
        (dict(elevation_rad=[np.nan, 0.0], sigma_range_m=-1.0), "elevation_rad contains"),
        (dict(sigma_range_m=[1.0, np.inf]), "sigma_range_m contains"),
        (dict(sigma_azimuth_rad=np.nan), "sigma_azimuth_rad contains"),
        (dict(sigma_elevation_rad=-np.inf, sigma_range_m=-1.0), "sigma_elevation_rad contains"),
        (dict(sigma_elevation_rad=-1e-3), "non-negative"),
        (dict(sigma_azimuth_rad=[1e-3, 1e-3, 1e-3]), "broadcast"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            polar_to_enu(SENSOR, **{**ok, **bad})
    with pytest.raises(ValueError, match="sensor_enu"):
        polar_to_enu([0.0, np.nan, 0.0], **{**ok, "range_m": [np.nan]})
    # no report: nothing to check but the sensor
    z, R = polar_to_enu(SENSOR, [], [], [], np.nan, -1.0, 0.0)
    assert z.shape == (0, 3) and R.shape == (0, 3, 3)
