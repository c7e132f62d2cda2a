"""The sensors' compiled scans against the NumPy code they replaced (kept here as the
reference): same reports, same order, same bits."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from bastion.core.detections import _FIELDS, Detections, K, gather_rows, nondecreasing
from bastion.core.rng import RepStreams
from bastion.scenario.geo import radar_horizon_m
from bastion.scenario.schema import EOIR, IFF, PassiveRF, Position, Radar
from bastion.sim.sensors.base import BlockView
from bastion.sim.sensors.eoir import _FOV_M, EOIRSensor
from bastion.sim.sensors.iff import IFFSensor
from bastion.sim.sensors.kernels import _mod, radar_geometry
from bastion.sim.sensors.radar import _CLUTTER, RadarSensor
from bastion.sim.sensors.rf import RFSensor
from bastion.sim.world.air import Kind
from bastion.tracking import polar_to_enu

_POS = Position(lat_deg=35.0, lon_deg=35.0)


# ------------------------------------------------------------------ the NumPy reference
def _dot_in_kernel_order(a, b):
    return (a[:, 0] * b[:, 0] + a[:, 2] * b[:, 2]) + a[:, 1] * b[:, 1]


def _ref_concat(batches):
    batches = [b for b in batches if b.m]
    if not batches:
        return Detections.empty()
    if len(batches) == 1:
        out = batches[0]
    else:
        out = Detections(*(np.concatenate([getattr(b, f) for b in batches]) for f in _FIELDS))
    order = np.argsort(out.t_s, kind="stable")
    return Detections(*(getattr(out, f)[order] for f in _FIELDS))


def _ref_observe(s, emit, air, t1_s, view):
    out = []
    while True:
        due = view.stepping & ((s.counter + 1) * s.period <= t1_s + 1e-9)
        if not due.any():
            break
        k = int(s.counter[due].min())
        group = due & (s.counter == k)
        out.append(emit(s, air, t1_s, view, k, group))
        s.counter[group] += 1
    return _ref_concat(out)


def _ref_polar(s, p):
    rel = p - s.pos
    r = np.linalg.norm(rel, axis=1)
    az = np.mod(np.arctan2(rel[:, 0], rel[:, 1]), 2 * np.pi)
    el = np.arcsin(np.clip(rel[:, 2] / np.maximum(r, 1e-9), -1, 1))
    return rel, r, az, el


def _ref_clutter(s, snr, rcs, r, az, el):
    """Signal to clutter plus noise over flat ground (docs/models.md): clutter RCS after the
    MTI = σ0 · θaz · ΔR · r / I, weighted by the two-way Gaussian beam at the angle between
    the target and the ground at its range."""
    cfg = s.cfg
    if not cfg.clutter:
        return snr
    ir = np.minimum((r / s.profile.r_step_m).astype(np.int64), s.profile.ground.shape[1] - 1)
    g = s.profile.ground[0, ir]
    bw = math.radians(cfg.elevation_beamwidth_deg)
    w = np.exp(-8.0 * math.log(2.0) * ((el - g) / bw) ** 2)
    c = (10 ** (cfg.land_sigma0_db / 10) * math.radians(cfg.azimuth_beamwidth_deg)
         * cfg.range_resolution_m / 10 ** (cfg.mti_improvement_db / 10))
    clutter = c * r * w  # 0 where the beam pattern underflows: clear of the clutter
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scr = rcs / clutter
        return np.where(np.isfinite(scr), 1.0 / (1.0 / snr + 1.0 / scr), snr)


def _ref_radar_emit(s, air, t1_s, view, k, group):
    cfg = s.cfg
    t0 = k * s.period
    idx = np.flatnonzero(air.airborne & group[view.row_block])
    pos, vel = air.pos[idx], air.vel[idx]
    _, r, az, _ = _ref_polar(s, pos)
    near = r <= cfg.max_range_m
    idx, pos, vel, az = idx[near], pos[near], vel[near], az[near]
    t_b = t0 + az / (2 * np.pi) * s.period
    pb = pos - vel * (t1_s - t_b)[:, None]
    rel, r, az, el = _ref_polar(s, pb)
    ok = (r <= radar_horizon_m(s.pos[2], pb[:, 2])) & (pb[:, 2] > 0)
    ok &= el <= math.radians(cfg.elevation_coverage_deg)
    for a0, a1, emin in s.mask:
        a = np.degrees(az)
        sector = (a >= a0) & (a <= a1) if a0 <= a1 else (a >= a0) | (a <= a1)
        ok &= ~(sector & (np.degrees(el) < emin))
    # the kernel's fixed sum order (NumPy's einsum with AVX-512; other CPUs' einsum may differ)
    v_rad = _dot_in_kernel_order(vel, rel) / np.maximum(r, 1e-9)
    ok &= np.abs(v_rad) >= cfg.min_radial_speed_mps
    snr = s.snr90 * (air.rcs_m2[idx] / cfg.reference_rcs_m2) * (cfg.range_pd90_m / r) ** 4
    snr = _ref_clutter(s, snr, air.rcs_m2[idx], r, az, el)
    pd = np.where(ok, np.power(cfg.pfa, 1.0 / (1.0 + snr)), 0.0)
    blk = view.row_block[idx]
    hit = view.streams.uniform(s.key, blk, view.row_local[idx], k, 0) < pd
    idx, r, az, el, t_b, blk = idx[hit], r[hit], az[hit], el[hit], t_b[hit], blk[hit]
    noise = view.streams.normal(s.key, blk[:, None], view.row_local[idx][:, None], k,
                                np.array([1, 2, 3]))
    rm = r + noise[:, 0] * s.sig[0]
    rm = np.where(rm > 0.0, rm, 0.0)  # a range cannot be negative (clamped at zero)
    azm = az + noise[:, 1] * s.sig[1]
    elm = el + noise[:, 2] * s.sig[2]
    bs = np.flatnonzero(group)
    n_fa = np.searchsorted(s.fa_cdf, view.streams.uniform(s.key, bs, _CLUTTER, k, 0)).astype(
        np.int64)
    total = int(n_fa.sum())
    if total:
        fb = np.repeat(bs, n_fa)
        j = _CLUTTER + 1 + np.arange(total) - np.repeat(np.cumsum(n_fa) - n_fa, n_fa)
        u = view.streams.uniform(s.key, fb[:, None], j[:, None], k, np.array([1, 2, 3, 4]))
        rm = np.concatenate([rm, 200.0 + u[:, 0] * (cfg.max_range_m - 200.0)])
        az_fa = u[:, 1] * 2 * np.pi
        azm = np.concatenate([azm, az_fa])
        elm = np.concatenate([elm, u[:, 2] * math.radians(5.0)])
        t_b = np.concatenate([t_b, t0 + az_fa / (2 * np.pi) * s.period])
        idx = np.concatenate([idx, np.full(total, -1)])
        blk = np.concatenate([blk, fb])
    m = idx.size
    if m == 0:
        return Detections.empty()
    z, R = polar_to_enu(s.pos, rm, azm, elm, *s.sig)
    return Detections(t_b, np.full(m, s.index, np.int64), z, R, np.zeros((m, K)),
                      idx.astype(np.int64), blk.astype(np.int64))


def _ref_in_range(s, air, range_m, view, group):
    idx = np.flatnonzero(air.airborne & group[view.row_block])
    d2 = np.sum((air.pos[idx] - s.pos) ** 2, axis=1)
    return idx[d2 <= range_m**2]


def _ref_rows(n, likelihood):
    return np.broadcast_to(np.log(np.asarray(likelihood, float)), (n, K)).copy()


def _ref_candidates(s, air, t_k, k, view, group):
    if isinstance(s, RFSensor):
        idx = _ref_in_range(s, air, s.cfg.range_m, view, group)
        idx = idx[air.emits_rf[idx]]
        return idx, np.full(idx.size, s.cfg.pd), _ref_rows(idx.size, (0.9, 1e-4, 0.02))
    if isinstance(s, IFFSensor):
        idx = _ref_in_range(s, air, s.cfg.range_m, view, group)
        idx = idx[(air.kind[idx] == Kind.OWN) & air.transponder[idx]]
        return idx, np.full(idx.size, s.cfg.reply_probability), _ref_rows(
            idx.size, (1e-4, 1e-4, 1.0))
    on = group & (s.cue_track >= 0) & (s.cue_t + s.cfg.slew_time_s <= t_k) & (
        t_k < s.busy_until)
    if not on.any():
        return np.zeros(0, np.int64), np.zeros(0), np.zeros((0, K))
    idx = _ref_in_range(s, air, s.range_m, view, on)
    b = view.row_block[idx]
    look = s.cue_pos[b] + s.cue_vel[b] * (t_k - s.cue_t[b])[:, None]
    d = np.linalg.norm(air.pos[idx] - look, axis=1)
    idx = idx[d <= _FOV_M]
    if idx.size == 0:
        return idx, np.zeros(0), np.zeros((0, K))
    u = view.streams.uniform(s.key, view.row_block[idx], view.row_local[idx], k, 7)
    cum = np.cumsum(s.confusion[air.kind[idx]], axis=1)
    reported = (u[:, None] > cum).sum(axis=1).clip(0, K - 1)
    ev = np.log(s.confusion[:, reported].T)
    return idx, np.full(idx.size, s.cfg.pd), ev


def _ref_point_emit(s, air, t1_s, view, k, group):
    t_k = (k + 1) * s.period
    idx, pd, ev = _ref_candidates(s, air, t_k, k, view, group)
    if idx.size == 0:
        return Detections.empty()
    reps = view.row_block[idx]
    hit = view.streams.uniform(s.key, reps, view.row_local[idx], k, 0) < pd
    idx, ev, reps = idx[hit], ev[hit], reps[hit]
    if idx.size == 0:
        return Detections.empty()
    p = air.pos[idx] - air.vel[idx] * (t1_s - t_k)
    z = p + s.sigma * view.streams.normal(s.key, reps[:, None], view.row_local[idx][:, None],
                                          k, np.array([1, 2, 3]))
    m = idx.size
    R = np.broadcast_to(np.eye(3) * s.sigma**2, (m, 3, 3)).copy()
    return Detections(np.full(m, t_k), np.full(m, s.index, np.int64), z, R, ev,
                      idx.astype(np.int64), view.row_block[idx])


# ------------------------------------------------------------------ random blocks
def _world(rng, n_block, reach):
    n = int(rng.integers(0, 400))
    row_block = np.sort(rng.integers(0, n_block, n))
    row_local = np.zeros(n, np.int64)
    for b in range(n_block):
        sel = row_block == b
        row_local[sel] = np.arange(sel.sum())
    pos = np.column_stack([rng.uniform(-reach, reach, n), rng.uniform(-reach, reach, n),
                           rng.uniform(-100.0, 3_000.0, n)])
    vel = rng.normal(0.0, 25.0, (n, 3)) * rng.choice([0.02, 1.0], (n, 1))
    if n:  # twins (same kinematics, e.g. in two replications): reports tied in time
        twin = rng.random(n) < 0.15
        src = rng.integers(0, n, twin.sum())
        pos[twin], vel[twin] = pos[src], vel[src]
    air = SimpleNamespace(
        pos=pos, vel=vel, airborne=rng.random(n) < 0.9, rcs_m2=rng.lognormal(-2.0, 2.0, n),
        kind=rng.integers(0, 3, n).astype(np.int8), transponder=rng.random(n) < 0.5,
        emits_rf=rng.random(n) < 0.5)
    streams = RepStreams(int(rng.integers(0, 2**31)), rng.permutation(97)[:n_block])
    stepping = rng.random(n_block) < 0.8
    return air, BlockView(streams, np.arange(n_block), row_block, row_local, stepping)


def _same(a: Detections, b: Detections) -> None:
    for f in _FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.shape == y.shape, f
        assert np.array_equal(x.view(np.uint8), y.view(np.uint8)) if x.size else True, f


def _run_both(s, ref_emit, air, t1, view, rng):
    counter = rng.integers(0, 4, view.stepping.size)
    s.counter = counter.copy()
    got = s.observe(air, t1, view)
    new_counter = s.counter.copy()
    s.counter = counter.copy()
    want = _ref_observe(s, ref_emit, air, t1, view)
    _same(got, want)
    assert np.array_equal(new_counter, s.counter)
    return got


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_radar_scan_matches_the_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    n_block = int(rng.integers(1, 6))
    mask = [(float(rng.uniform(0, 360)), float(rng.uniform(0, 360)), float(rng.uniform(-1, 8)))
            for _ in range(int(rng.integers(0, 4)))]
    cfg = Radar(name="r", site="s", position=_POS, scan_period_s=float(rng.choice([1.0, 2.0])),
                range_pd90_m=float(rng.uniform(3_000, 30_000)), max_range_m=20_000.0,
                pfa=float(rng.choice([1e-6, 1e-4])), min_radial_speed_mps=2.0,
                elevation_coverage_deg=float(rng.uniform(5, 60)), mask=mask)
    s = RadarSensor(cfg, int(rng.integers(0, 5)), np.array([300.0, -200.0,
                                                             float(rng.uniform(0, 30))]))
    s.reset(n_block)
    air, view = _world(rng, n_block, 25_000.0)
    t1 = float(rng.uniform(0.0, 12.0))
    _run_both(s, _ref_radar_emit, air, t1, view, rng)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(["rf", "iff", "eoir"]))
def test_point_sensor_reports_match_the_numpy_reference(seed, which):
    rng = np.random.default_rng(seed)
    n_block = int(rng.integers(1, 6))
    pos = np.array([100.0, 50.0, 10.0])
    if which == "rf":
        s = RFSensor(PassiveRF(name="rf", site="s", position=_POS, range_m=6_000.0), 2, pos)
    elif which == "iff":
        s = IFFSensor(IFF(name="iff", site="s", position=_POS, range_m=6_000.0), 4, pos)
    else:
        s = EOIRSensor(EOIR(name="eo", site="s", position=_POS, slew_time_s=1.0, dwell_s=8.0),
                       3, pos, night=bool(rng.random() < 0.5))
    s.reset(n_block)
    air, view = _world(rng, n_block, 7_000.0)
    if which == "eoir":
        # cue each turret at one of its replication's objects, so some fall in the frame
        near = np.linalg.norm(air.pos - pos, axis=1) < s.range_m
        for b in range(n_block):
            rows = np.flatnonzero((view.row_block == b) & near)
            if rows.size and rng.random() < 0.8:
                r = int(rng.choice(rows))
                s.cue(np.array([b]), np.array([int(rng.integers(0, 9))]), air.pos[r][None],
                      air.vel[r][None] * rng.choice([0.0, 1.0]), float(rng.uniform(-2, 2)))
    got = _run_both(s, _ref_point_emit, air, float(rng.uniform(0.0, 8.0)), view, rng)
    if which == "eoir":
        assert np.all(np.isin(got.truth, np.arange(air.pos.shape[0])))


# ------------------------------------------------------------------ pieces
@njit
def _mod_jit(a, b):
    return _mod(a, b)


@settings(max_examples=300, deadline=None)
@given(a=st.floats(allow_nan=True, allow_infinity=True, width=64),
       b=st.sampled_from([2 * np.pi, -2 * np.pi, 1.5, 360.0]))
def test_compiled_mod_is_numpys(a, b):
    got = _mod_jit(a, b)
    with np.errstate(invalid="ignore"):
        want = np.mod(np.float64(a), np.float64(b))
    assert np.array_equal(np.float64(got).view(np.uint64), want.view(np.uint64)) or (
        math.isnan(got) and math.isnan(want))


def test_radial_speed_at_the_mti_threshold_follows_the_kernel_order():
    # v_rad decides a row at |v_rad| == min speed: the kernel's sum must round in its
    # documented order (a 1-ulp difference flips the row), so put the threshold on each
    # row's value. The order is fixed in the kernel, so results do not depend on the CPU.
    rng = np.random.default_rng(3)
    n = 60
    pos = np.column_stack([rng.uniform(-9e3, 9e3, n), rng.uniform(-9e3, 9e3, n),
                           rng.uniform(50, 900, n)])
    vel = rng.normal(0, 20, (n, 3))
    spos = np.array([10.0, -20.0, 8.0])
    rcs = np.ones(n)
    rel = pos - spos  # t1 == beam time: no back-propagation
    v_rad = np.abs(_dot_in_kernel_order(vel, rel)
                   / np.maximum(np.linalg.norm(rel, axis=1), 1e-9))
    a = np.zeros(n)
    kept = 0
    for i in range(n):
        for thr, keep in ((v_rad[i], True), (np.nextafter(v_rad[i], np.inf), False)):
            _, rows = radar_geometry(np.array([i]), a[:1], pos, vel, rcs, spos, 0.0, 1.0, 0.0,
                                     1e9, 0.0, thr, 1.0, 1.0, 1e4)
            assert (rows.size == 1) == keep, (i, thr)
            kept += keep
    assert kept == n


@settings(max_examples=100, deadline=None)
@given(t=st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, np.nan]), max_size=12))
def test_concat_sorts_stably_like_argsort(t):
    rng = np.random.default_rng(len(t))
    parts, start = [], 0
    while start < len(t):
        m = int(rng.integers(1, 4))
        tt = np.array(t[start:start + m], float)
        m = tt.size
        parts.append(Detections(tt, np.arange(start, start + m), rng.normal(size=(m, 3)),
                                rng.normal(size=(m, 3, 3)), rng.normal(size=(m, K)),
                                np.arange(m) - 1, np.full(m, start)))
        start += m
    _same(Detections.concat(parts), _ref_concat(parts))


def test_nondecreasing_and_gather():
    assert nondecreasing(np.array([0.0, 0.0, 1.0]))
    assert not nondecreasing(np.array([0.0, 1.0, 0.5]))
    assert not nondecreasing(np.array([0.0, np.nan]))
    rng = np.random.default_rng(0)
    m = 7
    f = (rng.normal(size=m), rng.integers(0, 9, m), rng.normal(size=(m, 3)),
         rng.normal(size=(m, 3, 3)), rng.normal(size=(m, K)), rng.integers(-1, 9, m),
         rng.integers(0, 4, m))
    order = rng.permutation(m)
    for got, a in zip(gather_rows(order, *f), f, strict=True):
        assert np.array_equal(got, a[order])


def test_radar_clamps_a_negative_measured_range_at_zero():
    # a target almost on top of the radar: range noise makes many measurements negative; a
    # range cannot be, so those are reported at zero range (at the antenna) instead of
    # failing the polar conversion and with it the run
    cfg = Radar(name="r", site="s", position=_POS, sigma_range_m=1e4, min_radial_speed_mps=0.0)
    s = RadarSensor(cfg, 0, np.zeros(3))
    s.reset(1)
    n = 64
    air = SimpleNamespace(pos=np.tile([1.0, 1.0, 1.0], (n, 1)), vel=np.ones((n, 3)),
                          airborne=np.ones(n, bool), rcs_m2=np.ones(n))
    view = BlockView(RepStreams(1, [0]), np.arange(1), np.zeros(n, np.int64),
                     np.arange(n), np.ones(1, bool))
    det = s.observe(air, 1.0, view)
    real = det.truth >= 0
    assert real.sum() > 10
    at_antenna = np.all(det.z[real] == 0.0, axis=1)
    assert 0 < at_antenna.sum() < real.sum()  # some clamped, some not
    assert np.isfinite(det.z).all() and np.isfinite(det.R).all()
