"""The engine's compiled passes equal the array expressions they replaced, and skipping
engagements with nothing due changes nothing."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import small_scenario
from tests.sim.test_determinism import assert_same_runs

from bastion.respond import decision
from bastion.respond.book import EngagementBook
from bastion.respond.memory import TrackMemory
from bastion.sim import engine, kernels
from bastion.sim.world import Kind, Mode


def _modes(rng, n):
    return rng.choice([Mode.WAITING, Mode.CRUISE, Mode.LAND, Mode.LOITER, Mode.RETURN,
                       Mode.DOWN, Mode.GONE], n).astype(np.int8)


def _airborne(mode):
    return (mode != Mode.WAITING) & (mode != Mode.DOWN) & (mode != Mode.GONE)


def quiet_ref(t, inb, busy, mode, kind, pos, t_start, row_block, nd, site_xy, reach_m,
              max_gs, duration):
    """The engine's quiet_until array form (for every replication)."""
    bound = np.full(inb.size, duration)
    busy = busy.copy()
    live = np.flatnonzero(_airborne(mode[:nd]) & inb[row_block[:nd]])
    if live.size:
        d = np.linalg.norm(pos[live, None, :2] - site_xy[None, :, :2], axis=2)
        lb = row_block[live]
        gap = d.min(axis=1) - reach_m[lb]
        busy[lb[gap <= 0]] = True
        np.minimum.at(bound, lb, t + gap / max_gs[lb])
    wait = np.flatnonzero((mode == Mode.WAITING) & (kind != Kind.BIRD) & inb[row_block])
    if wait.size:
        np.minimum.at(bound, row_block[wait], t_start[wait])
    own = np.flatnonzero((kind == Kind.OWN) & _airborne(mode) & inb[row_block])
    busy[row_block[own]] = True
    out = np.maximum(t, bound)
    out[busy] = t
    return out, busy


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_b=st.integers(1, 12), n_sites=st.integers(1, 3))
def test_quiet_bound_and_pending_match_arrays(seed, n_b, n_sites):
    rng = np.random.default_rng(seed)
    nd_b = rng.integers(0, 6, n_b)
    no_b = rng.integers(0, 6, n_b)
    nd = int(nd_b.sum())
    row_block = np.concatenate([np.repeat(np.arange(n_b), nd_b),
                                np.repeat(np.arange(n_b), no_b)]).astype(np.int64)
    n = row_block.size
    kind = np.concatenate([np.zeros(nd), rng.choice([Kind.BIRD, Kind.OWN], n - nd)])
    kind = kind.astype(np.int8)
    mode = _modes(rng, n)
    pos = rng.normal(0, 20_000, (n, 3))
    t_start = rng.uniform(0, 3000, n)
    site_xy = rng.normal(0, 5000, (n_sites, 2))
    reach = rng.uniform(5000, 30_000, n_b)
    max_gs = rng.uniform(20, 80, n_b)
    inb = rng.random(n_b) < 0.8
    busy0 = rng.random(n_b) < 0.2
    t = float(rng.uniform(0, 2000))
    want, want_busy = quiet_ref(t, inb, busy0, mode, kind, pos, t_start, row_block, nd,
                                site_xy, reach, max_gs, 3600.0)
    busy = busy0.copy()
    got = kernels.quiet_bound(t, inb, busy, mode, kind, pos, t_start, row_block, nd, site_xy,
                              reach, max_gs, 3600.0)
    assert got[inb].tobytes() == want[inb].tobytes()
    assert np.array_equal(busy[inb], want_busy[inb])
    pending = (mode[:nd] == Mode.WAITING) | _airborne(mode[:nd])
    n_pending = np.bincount(row_block[:nd][pending], minlength=n_b)
    assert np.array_equal(kernels.pending_drones(mode, row_block, nd, n_b), n_pending > 0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200))
def test_track_lookup_cue_and_jammer_passes_match_arrays(seed, n):
    rng = np.random.default_rng(seed)
    n_b = 8
    # TrackMemory.get: unknown ids (negative, past the end) get the fill
    for fill, dtype in ((-1, np.int64), (np.nan, np.float64), (0, np.bool_)):
        bt = TrackMemory(fill, dtype)
        known = rng.integers(0, 400, n)
        bt.set(known, rng.integers(0, 5, n).astype(dtype))
        ids = rng.integers(-3, bt.a.size + 5, n)
        want = np.full(ids.shape, fill, bt.a.dtype)
        ok = (ids >= 0) & (ids < bt.a.size)
        want[ok] = bt.a[ids[ok]]
        got = bt.get(ids)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    # EO/IR cueing candidates
    pc = rng.dirichlet([0.3, 0.3, 0.3], n)
    pc[rng.random(n) < 0.05, 1] = np.nan
    free = rng.random(n_b) < 0.7
    tb = rng.integers(0, n_b, n)
    wide = np.empty((n, 8))
    x = wide[:, 1:7]
    x[:] = rng.normal(0, 6000, (n, 6))
    eo_pos = rng.normal(0, 100, 3)
    with np.errstate(invalid="ignore"):
        unsure = pc.max(axis=1) < 0.95
    want = np.flatnonzero((np.linalg.norm(x[:, :3] - eo_pos, axis=1) <= 7000.0) & unsure
                          & free[tb])
    assert np.array_equal(decision._cue_rows(pc, free, tb, x, eo_pos, 7000.0), want)
    # distances
    rows = rng.permutation(n)[: n // 2]
    assert kernels.distances(x, rows, eo_pos).tobytes() == np.linalg.norm(
        x[rows, :3] - eo_pos, axis=1).tobytes()
    # jammer activation
    jam = rng.normal(0, 3000, (2, 3))
    act = rng.uniform(1000, 8000, 2)
    want = np.zeros((n_b, 2), bool)
    for q in range(2):
        near = tb[np.linalg.norm(x[:, :2] - jam[q, :2], axis=1) <= act[q]]
        want[near, q] = True
    assert np.array_equal(decision._jammer_need(tb, x[:, :3], jam, act, n_b), want)


def test_engine_kernel_codes_match_the_enums():
    assert (kernels._WAITING, kernels._DOWN, kernels._GONE) == (Mode.WAITING, Mode.DOWN,
                                                             Mode.GONE)
    assert (kernels._BIRD, kernels._OWN) == (Kind.BIRD, Kind.OWN)


def test_skipping_engagements_with_nothing_due_changes_nothing(monkeypatch):
    """progress is skipped until an engagement is due (see EngagementBook.due): running it
    for every replication with open engagements at every tick, as before, gives the same."""
    sc = small_scenario()
    reps = list(range(6))
    calls = {"n": 0}
    real = EngagementBook.progress

    def counted(self, g, t):
        calls["n"] += 1
        return real(self, g, t)

    monkeypatch.setattr(EngagementBook, "progress", counted)
    base = engine.simulate_block(sc, reps)
    skipping = calls["n"]
    real_due = EngagementBook.due

    def never_skip(self, g):
        real_due(self, g)
        if self.groups[g].open:
            self.groups[g].wake = -math.inf
        return self.groups[g].wake

    monkeypatch.setattr(EngagementBook, "due", never_skip)
    real_propose = EngagementBook.propose

    def propose(self, g, *args):
        e = real_propose(self, g, *args)
        self.groups[g].wake = -math.inf
        return e

    monkeypatch.setattr(EngagementBook, "propose", propose)
    calls["n"] = 0
    full = engine.simulate_block(sc, reps)
    assert calls["n"] > 2 * skipping > 0
    assert sum(len(r.engagements) for r in base) > 0
    assert_same_runs(base, full)
    for a, b in zip(base, full, strict=True):
        assert [e.history for e in a.engagements] == [e.history for e in b.engagements]
