"""The tracker's packed track table: spare rows and in-place deletion keep rows, ids and
evidence exactly as a freshly built table would hold them."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.tracking.tracker import _Store

M = 2  # models: any count works, the table is just wider


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2**31 - 1)), min_size=1,
                max_size=12))
def test_appends_and_deletions_match_a_rebuilt_table(ops):
    s = _Store.empty(M, 2)
    ref_f = np.empty((0, _Store.width(M)))
    ref_id = np.empty(0, np.int64)
    ref_ev = np.empty((0, 2))
    next_id = 0
    for k, seed in ops:
        rng = np.random.default_rng(seed)
        ids = next_id + np.arange(k, dtype=np.int64)
        next_id += k
        ev = rng.normal(size=(k, 2))
        r0 = s.append(ids, ev)
        assert r0 == ref_id.size
        rows = rng.normal(size=(k, _Store.width(M)))
        s.f[r0:] = rows  # written through the view, as the tracker does
        ref_f = np.concatenate([ref_f, rows])
        ref_id = np.concatenate([ref_id, ids])
        ref_ev = np.concatenate([ref_ev, ev])
        keep = rng.random(ref_id.size) < 0.7
        s.keep(keep)
        ref_f, ref_id, ref_ev = ref_f[keep], ref_id[keep], ref_ev[keep]
        assert len(s) == ref_id.size
        np.testing.assert_array_equal(s.f, ref_f)
        np.testing.assert_array_equal(s.id, ref_id)
        np.testing.assert_array_equal(s.ev, ref_ev)


def test_new_rows_are_zero_even_over_deleted_ones():
    s = _Store.empty(M, 1)
    s.append(np.arange(5), np.ones((5, 1)))
    s.f[:] = 7.0
    s.keep(np.array([True, False, True, False, False]))
    r0 = s.append(np.array([9, 10]), np.zeros((2, 1)))
    assert r0 == 2
    assert np.all(s.f[2:] == 0.0)
    np.testing.assert_array_equal(s.id, [0, 2, 9, 10])
    assert np.all(s.f[:2] == 7.0)


def test_evidence_width_can_be_set_after_tracks_exist():
    s = _Store.empty(M, 0)
    s.append(np.arange(3), np.zeros((3, 0)))
    s.ev = np.arange(6.0).reshape(3, 2)
    r0 = s.append(np.array([3]), np.array([[8.0, 9.0]]))
    assert r0 == 3
    np.testing.assert_array_equal(s.ev, [[0, 1], [2, 3], [4, 5], [8, 9]])
