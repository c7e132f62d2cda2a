"""The compiled truth propagation equals the NumPy propagation it replaced, bit for bit."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.rng import Streams
from bastion.scenario import load_scenario
from bastion.scenario.geo import Frame
from bastion.sim.world import Kind, Mode, Nav, build_air, kernels, wind_vector
from bastion.sim.world.air import AirState, Fate, concat_air


class RefAir(AirState):
    """AirState with the NumPy propagation the kernels replaced (the reference)."""

    def _ground_speed(self, u, wind, airspeed):
        uw = np.einsum("ij,ij->i", u, wind)
        w2 = np.einsum("ij,ij->i", wind, wind)
        disc = np.maximum(airspeed**2 - w2 + uw**2, 0.0)
        return np.maximum(uw + np.sqrt(disc), 0.1 * airspeed)

    def drone_velocities(self, idx):
        if idx.size == 0:
            return
        mode = self.mode[idx]
        pos = self.pos[idx]
        v = np.zeros((idx.size, 3))
        wind = (self.wind[idx, :2] if self.wind.ndim == 2
                else np.broadcast_to(self.wind[:2], (idx.size, 2)))
        steer = (mode == Mode.CRUISE) | (mode == Mode.RETURN)
        if steer.any():
            k = idx[steer]
            believed = pos[steer, :2] + self.nav_err[k, :2]
            aim = np.where((mode[steer] == Mode.RETURN)[:, None], self.launch[k, :2],
                           self.wp[k, self.wp_idx[k], :2])
            d = aim - believed
            dist = np.linalg.norm(d, axis=1)
            u = d / np.maximum(dist, 1e-9)[:, None]
            # a spoofed drone's believed position drifts like INS (the spoofer's ramp)
            ins = np.isin(self.nav[k], (Nav.INS, Nav.SPOOFED))
            w_believed = wind[steer] + np.where(ins[:, None], self.drift_mps[k, :2], 0.0)
            g = self._ground_speed(u, w_believed, self.speed_mps[k])
            v_xy = u * g[:, None] - np.where(ins[:, None], self.drift_mps[k, :2], 0.0)
            v[steer, :2] = v_xy
            v[steer, 2] = np.clip(self.alt_m[k] - pos[steer, 2], -3.0, 3.0) / 1.0
        land = mode == Mode.LAND
        if land.any():
            k = idx[land]
            cur = self.vel[k, :2]
            sp = np.linalg.norm(cur, axis=1)
            u = np.where(sp[:, None] > 0.5, cur / np.maximum(sp, 1e-9)[:, None], [0.8, 0.6])
            v[land, :2] = u * self.speed_mps[k, None]
            v[land, 2] = -self.speed_mps[k] / self.glide_ratio[k]
        self.vel[idx] = v

    def advance(self, t0_s, t1_s, rows=None):
        dt = t1_s - t0_s
        ended = []
        if dt <= 0:
            return ended
        nd = self.n_drones
        sel = np.ones(self.n, bool) if rows is None else rows
        waiting = np.flatnonzero((self.mode == Mode.WAITING) & (self.t_start_s <= t1_s) & sel)
        if waiting.size:
            self.mode[waiting] = Mode.CRUISE
            self.drone_velocities(waiting[waiting < nd])
        fly = self.airborne & (self.t_start_s < t1_s) & sel
        rem = np.where(fly, t1_s - np.maximum(self.t_start_s, t0_s), 0.0)
        other = np.flatnonzero(fly[nd:]) + nd
        if other.size:
            self.pos[other] += self.vel[other] * rem[other, None]
        d = np.flatnonzero(fly[:nd])
        rem_d = rem[d]
        t_now = t1_s - rem_d
        for _ in range(64):
            if d.size == 0:
                break
            t_evt = self._time_to_event(d)
            step = np.minimum(rem_d, t_evt)
            self.pos[d] += self.vel[d] * step[:, None]
            self.nav_err[d] += np.where(
                np.isin(self.nav[d], (Nav.INS, Nav.SPOOFED))[:, None],
                self.drift_mps[d] * step[:, None], 0.0)
            rem_d = rem_d - step
            t_now = t_now + step
            hit = t_evt <= step + 1e-9
            if not hit.any():
                break
            for k, t_k in zip(d[hit], t_now[hit], strict=True):
                fate = self._event(int(k), float(t_k))
                if fate:
                    ended.append((int(k), fate, float(t_k)))
            keep = (rem_d > 1e-9) & (self.mode[d] != Mode.DOWN) & (self.mode[d] != Mode.GONE)
            d, rem_d, t_now = d[keep], rem_d[keep], t_now[keep]
        gone = np.flatnonzero(self.airborne & (self.t_end_s <= t1_s) & sel)
        self.mode[gone] = Mode.GONE
        out = np.flatnonzero(
            self.airborne[:nd] & (t1_s - self.t_start_s[:nd] > self.endurance_s) & sel[:nd])
        for k in out:
            ended.append((int(k), self._end(int(k), Fate.OUT_OF_FUEL, t1_s), t1_s))
        self._birds_turn(sel, t0_s, t1_s)
        return ended

    def _time_to_event(self, d):
        mode = self.mode[d]
        t = np.full(d.size, np.inf)
        cr = (mode == Mode.CRUISE) | (mode == Mode.RETURN)
        if cr.any():
            k = d[cr]
            believed = self.pos[k, :2] + self.nav_err[k, :2]
            aim = np.where((mode[cr] == Mode.RETURN)[:, None], self.launch[k, :2],
                           self.wp[k, self.wp_idx[k], :2])
            dist = np.linalg.norm(aim - believed, axis=1)
            vb = self.vel[k, :2] + np.where(
                np.isin(self.nav[k], (Nav.INS, Nav.SPOOFED))[:, None], self.drift_mps[k, :2], 0.0)
            closing = np.linalg.norm(vb, axis=1)
            t[cr] = np.where(dist < 1.0, 0.0, dist / np.maximum(closing, 1e-6))
        ld = mode == Mode.LAND
        if ld.any():
            k = d[ld]
            with np.errstate(divide="ignore", invalid="ignore"):
                t[ld] = np.where(self.vel[k, 2] < 0, self.pos[k, 2] / -self.vel[k, 2], np.inf)
        return t

    def _event(self, k, t_s):
        mode = self.mode[k]
        if mode == Mode.LAND:
            self.pos[k, 2] = 0.0
            crashed = self.crash_draw[k] < self.p_crash[k]
            return self._end(k, Fate.CRASHED if crashed else Fate.LANDED, t_s)
        if mode == Mode.RETURN:
            return self._end(k, Fate.RETURNED, t_s, gone=True)
        if self.wp_idx[k] + 1 < self.n_wp[k]:
            self.wp_idx[k] += 1
            self.drone_velocities(np.array([k]))
            return 0
        if self.nav[k] == Nav.SPOOFED:
            crashed = self.crash_draw[k] < self.p_crash[k]
            self.pos[k, 2] = 0.0
            return self._end(k, Fate.CRASHED if crashed else Fate.LANDED, t_s)
        self.pos[k, 2] = 0.0
        return self._end(k, Fate.ATTACKED, t_s)

    def _birds_turn(self, sel, t0, t1):
        b = np.flatnonzero(self.kind == Kind.BIRD)
        if b.size == 0:
            return
        # the weave: heading turned by A/ω·(cos(ωt0 + φ) − cos(ωt1 + φ)), clockwise
        a, w, ph = self.bird_weave.T
        d = np.where((a > 0) & sel[b], a / w * (np.cos(w * t0 + ph) - np.cos(w * t1 + ph)), 0.0)
        vx, vy = self.vel[b, 0].copy(), self.vel[b, 1].copy()
        weave = (a > 0) & sel[b]
        self.vel[b[weave], 0] = (np.cos(d) * vx + np.sin(d) * vy)[weave]
        self.vel[b[weave], 1] = (np.cos(d) * vy - np.sin(d) * vx)[weave]
        rel = self.pos[b, :2] - self.bird_centre[:, :2]
        out = (np.einsum("ij,ij->i", rel, rel) > self.bird_radius_m**2) & sel[b]
        outward = np.einsum("ij,ij->i", rel, self.vel[b, :2]) > 0
        turn = out & outward
        if turn.any():
            r = rel[turn] / np.linalg.norm(rel[turn], axis=1)[:, None]
            v = self.vel[b[turn], :2]
            self.vel[b[turn], :2] = v - 2 * np.einsum("ij,ij->i", v, r)[:, None] * r


def set_denied_ref(air: AirState, denied, t_s, rows=None):
    """The array form of AirState.set_denied (the fail-safes taken are applied alike)."""
    nd = air.n_drones
    taken = []
    active = air.airborne[:nd] & air.gnss_susceptible & (air.nav != Nav.SPOOFED)
    if rows is not None:
        active &= rows
    active &= air.mode[:nd] == Mode.CRUISE
    newly = active & denied & np.isnan(air.denied_since_s) & (air.nav == Nav.GNSS)
    air.denied_since_s[newly] = t_s
    regained = active & ~denied & (air.nav == Nav.GNSS)
    air.denied_since_s[regained] = np.nan
    due = active & (air.nav == Nav.GNSS) & (t_s - air.denied_since_s >= air.lock_timeout_s)
    for k in np.flatnonzero(due):
        fs = int(air.failsafe[k])
        if fs == Mode.CRUISE:
            air.nav[k] = Nav.INS
        else:
            air.mode[k] = fs
        air.drone_velocities(np.array([k]))
        taken.append((int(k), fs))
    return taken


def _block(name: str, reps: int) -> AirState:
    sc = load_scenario(name)
    frame = Frame(sc.origin)
    assets = [a for s in sc.sites for a in s.assets]
    enu = np.array([frame.point(a.position) for a in assets])
    parts = []
    for r in range(reps):
        st_ = Streams(sc.seed, r)
        air, _ = build_air(sc, frame, st_, enu, [a.name for a in assets])
        air.wind = wind_vector(sc, st_)
        parts.append(air)
    air = concat_air(parts)[0]
    # routes: the built-in raids fly straight at their aim; give most drones one or two
    # waypoints on the way (with short legs among them) so leg switches are exercised
    rng = np.random.default_rng(0)
    nd = air.n_drones
    aim = air.wp[np.arange(nd), air.n_wp - 1]
    n_wp = rng.integers(1, 4, nd)
    frac = np.sort(rng.uniform(0.2, 0.999, (nd, 2)), axis=1)
    wp = np.empty((nd, 3, 3))
    for k in range(nd):
        legs = [air.launch[k] + f * (aim[k] - air.launch[k]) + rng.normal(0, 300, 3) * [1, 1, 0]
                for f in frac[k, : n_wp[k] - 1]]
        pts = [*legs, aim[k]]
        wp[k] = pts + [aim[k]] * (3 - len(pts))
    air.wp, air.n_wp = wp, n_wp.astype(np.int64)
    return air


_BASE = {name: _block(name, 3) for name in ("khmeimim-2018", "khmeimim-2025")}


def _scramble(air: AirState, rng: np.random.Generator) -> None:
    """Random but valid states: every mode, navigation and event close to happening."""
    nd, n = air.n_drones, air.n
    air.mode[:nd] = rng.choice([Mode.WAITING, Mode.CRUISE, Mode.LAND, Mode.LOITER, Mode.RETURN,
                                Mode.DOWN, Mode.GONE], nd, p=[.1, .4, .15, .05, .15, .1, .05])
    air.nav[:] = rng.choice([Nav.GNSS, Nav.INS, Nav.SPOOFED], nd)
    air.nav_err[:] = rng.normal(0, 200, (nd, 3)) * (air.nav != Nav.GNSS)[:, None]
    air.wp_idx[:] = rng.integers(0, air.n_wp)
    # some drones a few metres or a fraction of a tick from their waypoint or the ground,
    # some with the next leg a few metres long (two crossings in one interval)
    near = rng.random(nd) < 0.3
    aim = air.wp[np.arange(nd), air.wp_idx]
    air.pos[:nd][near] = aim[near] + rng.normal(0, 30, (int(near.sum()), 3))
    short = near & (air.wp_idx + 1 < air.n_wp) & (rng.random(nd) < 0.5)
    air.wp[short, air.wp_idx[short] + 1] = aim[short] + rng.normal(0, 20, (int(short.sum()), 3))
    air.pos[:nd, 2] = np.where(rng.random(nd) < 0.2, rng.uniform(0, 5, nd), air.pos[:nd, 2])
    air.pos[nd:] += rng.normal(0, 3000, (n - nd, 3)) * (rng.random(n - nd) < 0.5)[:, None]
    air.t_start_s[:] = air.t_start_s * rng.uniform(0, 1, n)
    air.t_end_s[nd:] = np.where(rng.random(n - nd) < 0.3, rng.uniform(0, 50, n - nd), np.inf)
    air.endurance_s[:] = np.where(rng.random(nd) < 0.1, 1.0, air.endurance_s)
    air.vel[:] = rng.normal(0, 20, (n, 3))
    air.vel[:nd][rng.random(nd) < 0.1] = 0.0  # hovering: lands east-north-east
    air.drone_velocities(np.flatnonzero(rng.random(nd) < 0.5))
    air.wind = air.wind + rng.normal(0, 3, air.wind.shape)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(_BASE)),
       dt=st.sampled_from([0.0, 1e-3, 0.7, 2.0, 35.0, 400.0]), t0=st.floats(0, 600),
       masked=st.booleans())
def test_advance_matches_numpy_reference(seed, name, dt, t0, masked):
    rng = np.random.default_rng(seed)
    new = copy.deepcopy(_BASE[name])
    _scramble(new, rng)
    ref = RefAir(**{f: copy.deepcopy(getattr(new, f)) for f in new.__dataclass_fields__})
    rows = rng.random(new.n) < 0.6 if masked else None
    for _ in range(3):  # several intervals: state carried over
        e_new = new.advance(t0, t0 + dt, rows)
        e_ref = ref.advance(t0, t0 + dt, rows)
        assert e_new == e_ref
        for f in new.__dataclass_fields__:
            a, b = np.asarray(getattr(new, f)), np.asarray(getattr(ref, f))
            assert a.dtype == b.dtype and a.shape == b.shape, f
            assert a.tobytes() == b.tobytes(), f
        t0 += dt


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_drone_velocities_match_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    new = copy.deepcopy(_BASE["khmeimim-2018"])
    _scramble(new, rng)
    ref = RefAir(**{f: copy.deepcopy(getattr(new, f)) for f in new.__dataclass_fields__})
    idx = np.flatnonzero(rng.random(new.n_drones) < 0.7)
    new.drone_velocities(idx)
    ref.drone_velocities(idx)
    assert new.vel.tobytes() == ref.vel.tobytes()


def test_events_come_in_pass_then_row_order():
    """A drone that first crosses a waypoint reports its end after a drone of a higher row
    that ends at once (the order the engine logs them in)."""
    air = copy.deepcopy(_BASE["khmeimim-2018"])
    nd = air.n_drones
    a, b = [k for k in range(nd) if air.n_wp[k] >= 2][:2]
    assert a < b
    air.mode[:nd] = Mode.DOWN
    air.mode[[a, b]] = Mode.CRUISE
    air.nav[[a, b]] = Nav.GNSS
    air.nav_err[[a, b]] = 0.0
    air.t_start_s[[a, b]] = 0.0
    for k, idx in ((a, air.n_wp[a] - 2), (b, air.n_wp[b] - 1)):
        air.wp_idx[k] = idx
        aim = air.wp[k, idx]
        air.pos[k] = aim - np.array([5.0, 0.0, 0.0])
        if k == a:  # the aim point just beyond the waypoint
            air.wp[k, idx + 1] = aim + np.array([10.0, 0.0, 0.0])
    air.drone_velocities(np.array([a, b]))
    ended = air.advance(100.0, 102.0)
    assert [(k, f) for k, f, _ in ended] == [(b, Fate.ATTACKED), (a, Fate.ATTACKED)]
    assert ended[0][2] < ended[1][2]


def test_kernel_codes_match_the_enums():
    assert (kernels._WAITING, kernels._CRUISE, kernels._LAND, kernels._LOITER, kernels._RETURN,
            kernels._DOWN, kernels._GONE) == (Mode.WAITING, Mode.CRUISE, Mode.LAND, Mode.LOITER,
                                               Mode.RETURN, Mode.DOWN, Mode.GONE)
    assert (kernels._INS, kernels._SPOOFED) == (Nav.INS, Nav.SPOOFED)
    assert (kernels._LANDED, kernels._CRASHED, kernels._ATTACKED, kernels._RETURNED,
            kernels._OUT_OF_FUEL) == (Fate.LANDED, Fate.CRASHED, Fate.ATTACKED, Fate.RETURNED,
                                      Fate.OUT_OF_FUEL)
    assert kernels._BIRD == Kind.BIRD


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), masked=st.booleans())
def test_set_denied_matches_numpy_reference(seed, masked):
    rng = np.random.default_rng(seed)
    new = copy.deepcopy(_BASE["khmeimim-2018"])
    _scramble(new, rng)
    nd = new.n_drones
    new.gnss_susceptible[:] = rng.random(nd) < 0.8
    new.failsafe[:] = rng.choice([Mode.CRUISE, Mode.LAND, Mode.LOITER, Mode.RETURN], nd)
    new.denied_since_s[:] = np.where(rng.random(nd) < 0.5, np.nan, rng.uniform(0, 20, nd))
    new.lock_timeout_s[:] = rng.choice([0.0, 5.0, 30.0], nd)
    ref = RefAir(**{f: copy.deepcopy(getattr(new, f)) for f in new.__dataclass_fields__})
    rows = rng.random(nd) < 0.6 if masked else None
    for t in (10.0, 20.0, 40.0):
        denied = rng.random(nd) < 0.5
        assert new.set_denied(denied, t, rows) == set_denied_ref(ref, denied, t, rows)
        for f in new.__dataclass_fields__:
            assert np.asarray(getattr(new, f)).tobytes() == np.asarray(getattr(ref, f)).tobytes(), f
