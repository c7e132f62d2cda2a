"""GOSPA against Stone Soup's GOSPAMetric on identical inputs; track-quality metrics."""

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.outcome.gospa import gospa
from bastion.outcome.track_metrics import id_switches, time_to_confirm

stonesoup = pytest.importorskip("stonesoup")
from stonesoup.measures import Euclidean  # noqa: E402
from stonesoup.metricgenerator.ospametric import GOSPAMetric  # noqa: E402
from stonesoup.types.state import State  # noqa: E402

NOW = datetime.datetime(2025, 1, 1)


def _states(a):
    return [State(row.reshape(-1, 1), timestamp=NOW) for row in a]


def _stonesoup(truth, est, c, p):
    # Stone Soup measures the whole state vector by default: restrict it to position.
    metric = GOSPAMetric(p=p, c=c, measure=Euclidean(mapping=[0, 1, 2]))
    single, _ = metric.compute_gospa_metric(_states(est), _states(truth))
    return single.value


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 9), m=st.integers(0, 9),
       c=st.sampled_from([10.0, 100.0, 500.0]), p=st.sampled_from([1.0, 2.0]))
def test_gospa_matches_stonesoup(seed, n, m, c, p):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 600, (n, 3))
    est = np.concatenate([truth[: min(n, m)] + rng.normal(0, 30, (min(n, m), 3)),
                          rng.uniform(0, 600, (max(m - n, 0), 3))])
    # A velocity-like column that must be ignored by both (position-only comparison).
    ours = gospa(truth, est, c, p)
    if n == 0 and m == 0:
        assert ours.distance == 0.0
        return
    ref = _stonesoup(np.hstack([truth, np.ones((n, 1))]), np.hstack([est, np.zeros((m, 1))]),
                     c, p)
    assert ours.distance == pytest.approx(float(ref["distance"]), rel=1e-9, abs=1e-9)
    assert ours.localisation == pytest.approx(float(ref["localisation"]), rel=1e-9, abs=1e-9)
    assert ours.missed == pytest.approx(float(ref["missed"]), rel=1e-9, abs=1e-9)
    assert ours.false == pytest.approx(float(ref["false"]), rel=1e-9, abs=1e-9)


def test_sparse_path_matches_dense_path():
    from bastion.outcome import gospa as g

    rng = np.random.default_rng(11)
    truth = rng.uniform(0, 3000, (400, 3))
    est = np.concatenate([truth[:350] + rng.normal(0, 40, (350, 3)), rng.uniform(0, 3000, (80, 3))])
    dense = gospa(truth, est, 100.0, 1.0)
    saved = g._DENSE_CELLS_MAX
    try:
        g._DENSE_CELLS_MAX = 0
        sparse = gospa(truth, est, 100.0, 1.0)
    finally:
        g._DENSE_CELLS_MAX = saved
    assert sparse.distance == pytest.approx(dense.distance, rel=1e-9)
    assert sparse.localisation == pytest.approx(dense.localisation, rel=1e-9)
    assert (sparse.n_missed, sparse.n_false) == (dense.n_missed, dense.n_false)


def test_gospa_components_by_hand():
    truth = np.array([[0.0, 0, 0], [500.0, 0, 0]])
    est = np.array([[3.0, 4, 0], [560.0, 0, 0], [2000.0, 0, 0]])
    g = gospa(truth, est, c=100.0, p=1.0)
    assert g.localisation == pytest.approx(65.0)
    assert g.missed == 0.0 and g.false == pytest.approx(50.0)
    assert g.distance == pytest.approx(115.0)
    np.testing.assert_array_equal(g.truth_to_estimate, [0, 1])
    g = gospa(truth, np.empty((0, 3)), c=100.0, p=2.0)
    assert g.missed == pytest.approx(2 * 100.0**2 / 2) and g.n_missed == 2
    assert g.distance == pytest.approx(100.0)
    with pytest.raises(ValueError):
        gospa(truth, est, c=0.0)
    with pytest.raises(ValueError):
        gospa(truth, est[:, :2], c=10.0)


def test_id_switches_and_time_to_confirm():
    truth_ids = [np.array([0, 1])] * 5
    assigned = [np.array([7, -1]), np.array([7, 8]), np.array([-1, 8]),
                np.array([9, 8]), np.array([9, 7])]
    # truth 0: 7 → (gap) → 9 is one switch; truth 1: 8 → 7 is one switch.
    assert id_switches(truth_ids, assigned) == 2
    ttc = time_to_confirm([0.0, 1.0, 2.0, 3.0, 4.0], truth_ids, assigned, {0: 0.0, 1: 0.5})
    assert ttc == {0: 0.0, 1: 0.5}
    never = time_to_confirm([0.0], [np.array([0])], [np.array([-1])], {0: 0.0})
    assert np.isnan(never[0])
