"""Truth kinematics of everything in the air, as arrays (one row per object).

Rows ``0 .. n_drones-1`` are hostile drones, then birds, then own aircraft. Between events
every object flies at constant velocity, so propagation is exact and time can be skipped:

* A GNSS-guided drone crabs into the wind so its ground track points at its next
  waypoint. On INS it steers with a wind estimate that is off by ``drift_mps`` (drawn per
  drone), so it drifts by exactly that velocity and its navigation error grows linearly.
* A spoofed drone believes it is ``nav_err`` away from where it is and steers its
  *believed* position to the waypoint; its true path ends at waypoint − nav_err.
* Fail-safe ``land`` glides down at the airframe's glide ratio along its current heading;
  ``loiter`` holds station until endurance runs out; ``return`` flies back to launch.

Waypoint arrivals inside an interval are handled by advancing each drone to its arrival,
switching legs and continuing: the loop runs once per waypoint crossed, not per drone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["AirState", "Fate", "Kind", "Mode", "Nav", "concat_air"]

F64 = NDArray[np.float64]
I8 = NDArray[np.int8]
B = NDArray[np.bool_]


class Kind:
    DRONE = 0
    BIRD = 1
    OWN = 2
    NAMES = ("drone", "bird", "own_aircraft")


class Mode:
    WAITING = 0  # not launched / not yet departed
    CRUISE = 1  # following waypoints
    LAND = 2  # fail-safe: gliding down
    LOITER = 3  # fail-safe: holding station
    RETURN = 4  # fail-safe: flying back to launch
    DOWN = 5  # no longer flying (see fate)
    GONE = 6  # left the area (own aircraft departed, drone returned home)


class Nav:
    GNSS = 0
    INS = 1
    SPOOFED = 2


class Fate:
    NONE = 0
    SHOT_DOWN = 1
    LANDED = 2  # forced down, intact
    CRASHED = 3  # forced down, broke up / warhead went off on touching the ground
    ATTACKED = 4  # reached its aim point and dived (a leaker)
    RETURNED = 5
    OUT_OF_FUEL = 6
    NAMES = ("none", "shot_down", "landed", "crashed", "attacked", "returned", "out_of_fuel")


@dataclass
class AirState:
    kind: I8
    pos: F64  # (n, 3) true ENU m
    vel: F64  # (n, 3) true ENU m/s
    rcs_m2: F64
    mode: I8
    t_start_s: F64  # launch / departure time
    emits_rf: B
    transponder: B
    t_end_s: F64  # non-drone rows leave the picture then (departed, landed); inf otherwise
    # --- drone rows only (length n_drones) --------------------------------------------
    n_drones: int
    speed_mps: F64  # airspeed
    alt_m: F64
    wp: F64  # (nd, W, 3) waypoints (the last one is the aim point)
    n_wp: NDArray[np.int64]
    wp_idx: NDArray[np.int64]
    launch: F64  # (nd, 3)
    nav: I8
    nav_err: F64  # (nd, 3) believed − true position
    drift_mps: F64  # (nd, 3) INS drift velocity (wind-estimate error)
    gnss_susceptible: B
    denied_since_s: F64  # nan while GNSS is usable
    failsafe: I8  # pre-drawn Mode taken after lock loss (LAND/LOITER/RETURN/CRUISE=INS)
    lock_timeout_s: F64
    glide_ratio: F64
    crash_draw: F64  # uniform, pre-drawn: crashes on forced landing if < p_crash
    p_crash: F64
    endurance_s: F64
    fate: I8 = field(default_factory=lambda: np.zeros(0, np.int8))
    t_fate_s: F64 = field(default_factory=lambda: np.zeros(0))
    impact: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    spoofed_by: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    wind: F64 = field(default_factory=lambda: np.zeros(3))  # (3,), or (nd, 3) per drone
    # --- bird rows: wander about a centre ------------------------------------------------
    bird_centre: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    bird_radius_m: F64 = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        nd = self.n_drones
        if self.fate.shape[0] != nd:
            self.fate = np.zeros(nd, np.int8)
            self.t_fate_s = np.full(nd, np.nan)
            self.impact = np.full((nd, 3), np.nan)
            self.spoofed_by = np.full(nd, -1, np.int64)

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])

    @property
    def airborne(self) -> B:
        return (self.mode != Mode.WAITING) & (self.mode != Mode.DOWN) & (self.mode != Mode.GONE)

    # ----------------------------------------------------------------------- velocities
    def _ground_speed(self, u: F64, wind: F64, airspeed: F64) -> F64:
        """Ground speed along unit direction u (xy) flying at airspeed in wind (wind triangle)."""
        uw = np.einsum("ij,ij->i", u, wind)
        w2 = np.einsum("ij,ij->i", wind, wind)
        disc = np.maximum(airspeed**2 - w2 + uw**2, 0.0)
        return np.maximum(uw + np.sqrt(disc), 0.1 * airspeed)

    def drone_velocities(self, idx: NDArray[np.int64]) -> None:
        """Recompute true velocity of drones ``idx`` from their mode and navigation."""
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
            aim = np.where(
                (mode[steer] == Mode.RETURN)[:, None],
                self.launch[k, :2],
                self.wp[k, self.wp_idx[k], :2],
            )
            d = aim - believed
            dist = np.linalg.norm(d, axis=1)
            u = d / np.maximum(dist, 1e-9)[:, None]
            ins = self.nav[k] == Nav.INS
            # The autopilot solves the wind triangle with the wind it believes in.
            w_believed = wind[steer] + np.where(ins[:, None], self.drift_mps[k, :2], 0.0)
            g = self._ground_speed(u, w_believed, self.speed_mps[k])
            v_xy = u * g[:, None] - np.where(ins[:, None], self.drift_mps[k, :2], 0.0)
            v[steer, :2] = v_xy
            # hold cruise altitude (barometric): climb/descend toward it at ≤ 3 m/s
            v[steer, 2] = np.clip(self.alt_m[k] - pos[steer, 2], -3.0, 3.0) / 1.0
        land = mode == Mode.LAND
        if land.any():
            k = idx[land]
            cur = self.vel[k, :2]
            sp = np.linalg.norm(cur, axis=1)
            # keep the current heading; if it had none (e.g. hovering), glide east-north-east
            u = np.where(sp[:, None] > 0.5, cur / np.maximum(sp, 1e-9)[:, None], [0.8, 0.6])
            v[land, :2] = u * self.speed_mps[k, None]
            v[land, 2] = -self.speed_mps[k] / self.glide_ratio[k]
        # LOITER: orbiting a point — net displacement zero, speed stays in the air (radar
        # still sees an orbit's radial motion); net ground velocity modelled as zero.
        self.vel[idx] = v

    # ----------------------------------------------------------------------- propagation
    def advance(self, t0_s: float, t1_s: float, rows: B | None = None
                ) -> list[tuple[int, int, float]]:
        """Move everything (or the ``rows`` mask) from t0 to t1; return (drone, new_fate,
        t_s) of drones that ended. Rows outside the mask do not change at all: lock-step
        replications each keep their own clock."""
        dt = t1_s - t0_s
        ended: list[tuple[int, int, float]] = []
        if dt <= 0:
            return ended
        nd = self.n_drones
        sel = np.ones(self.n, bool) if rows is None else rows
        # launches inside the interval: place them at t_start and fly the rest
        waiting = np.flatnonzero((self.mode == Mode.WAITING) & (self.t_start_s <= t1_s) & sel)
        if waiting.size:
            self.mode[waiting] = Mode.CRUISE
            # drones get velocities from their mode; own aircraft were given theirs at build
            self.drone_velocities(waiting[waiting < nd])
        fly = self.airborne & (self.t_start_s < t1_s) & sel
        rem = np.where(fly, t1_s - np.maximum(self.t_start_s, t0_s), 0.0)
        # non-drone rows: straight lines, exact
        other = np.flatnonzero(fly[nd:]) + nd
        if other.size:
            self.pos[other] += self.vel[other] * rem[other, None]
        # drone rows: legs, landings, endurance
        d = np.flatnonzero(fly[:nd])
        rem_d = rem[d]
        t_now = t1_s - rem_d
        for _ in range(64):  # bounded: one pass per waypoint/landing crossed in the interval
            if d.size == 0:
                break
            t_evt = self._time_to_event(d)
            step = np.minimum(rem_d, t_evt)
            self.pos[d] += self.vel[d] * step[:, None]
            self.nav_err[d] += np.where(
                (self.nav[d] == Nav.INS)[:, None], self.drift_mps[d] * step[:, None], 0.0
            )
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
        # endurance
        out = np.flatnonzero(
            self.airborne[:nd] & (t1_s - self.t_start_s[:nd] > self.endurance_s) & sel[:nd]
        )
        for k in out:
            ended.append((int(k), self._end(int(k), Fate.OUT_OF_FUEL, t1_s), t1_s))
        self._birds_turn(sel)
        return ended

    def _time_to_event(self, d: NDArray[np.int64]) -> F64:
        mode = self.mode[d]
        t = np.full(d.size, np.inf)
        cr = (mode == Mode.CRUISE) | (mode == Mode.RETURN)
        if cr.any():
            k = d[cr]
            believed = self.pos[k, :2] + self.nav_err[k, :2]
            aim = np.where((mode[cr] == Mode.RETURN)[:, None], self.launch[k, :2],
                           self.wp[k, self.wp_idx[k], :2])
            dist = np.linalg.norm(aim - believed, axis=1)
            # believed velocity = true + drift (INS); its component toward the aim closes it
            vb = self.vel[k, :2] + np.where(
                (self.nav[k] == Nav.INS)[:, None], self.drift_mps[k, :2], 0.0
            )
            closing = np.linalg.norm(vb, axis=1)
            t[cr] = np.where(dist < 1.0, 0.0, dist / np.maximum(closing, 1e-6))
        ld = mode == Mode.LAND
        if ld.any():
            k = d[ld]
            t[ld] = np.where(self.vel[k, 2] < 0, self.pos[k, 2] / -self.vel[k, 2], np.inf)
        return t

    def _event(self, k: int, t_s: float) -> int:
        mode = self.mode[k]
        if mode == Mode.LAND:
            self.pos[k, 2] = 0.0
            crashed = self.crash_draw[k] < self.p_crash[k]
            return self._end(k, Fate.CRASHED if crashed else Fate.LANDED, t_s)
        if mode == Mode.RETURN:
            return self._end(k, Fate.RETURNED, t_s, gone=True)
        # cruise: next waypoint or the aim point
        if self.wp_idx[k] + 1 < self.n_wp[k]:
            self.wp_idx[k] += 1
            self.drone_velocities(np.array([k]))
            return 0
        if self.nav[k] == Nav.SPOOFED:
            # led to the spoofer's controlled area: it dives / lands there
            crashed = self.crash_draw[k] < self.p_crash[k]
            self.pos[k, 2] = 0.0
            return self._end(k, Fate.CRASHED if crashed else Fate.LANDED, t_s)
        self.pos[k, 2] = 0.0
        return self._end(k, Fate.ATTACKED, t_s)

    def _end(self, k: int, fate: int, t_s: float, gone: bool = False) -> int:
        self.mode[k] = Mode.GONE if gone else Mode.DOWN
        self.vel[k] = 0.0
        self.fate[k] = fate
        self.t_fate_s[k] = t_s
        self.impact[k] = self.pos[k]
        return fate

    def shoot_down(self, k: int, t_s: float) -> None:
        self._end(k, Fate.SHOT_DOWN, t_s)

    def _birds_turn(self, sel: B) -> None:
        b = np.flatnonzero(self.kind == Kind.BIRD)
        if b.size == 0:
            return
        rel = self.pos[b, :2] - self.bird_centre[:, :2]
        out = (np.einsum("ij,ij->i", rel, rel) > self.bird_radius_m**2) & sel[b]
        outward = np.einsum("ij,ij->i", rel, self.vel[b, :2]) > 0
        turn = out & outward
        if turn.any():
            # reflect the velocity about the radial direction: birds stay about their area
            r = rel[turn] / np.linalg.norm(rel[turn], axis=1)[:, None]
            v = self.vel[b[turn], :2]
            self.vel[b[turn], :2] = v - 2 * np.einsum("ij,ij->i", v, r)[:, None] * r

    # ----------------------------------------------------------------------- navigation
    def set_denied(self, denied: B, t_s: float, rows: B | None = None) -> list[tuple[int, int]]:
        """Update GNSS denial for drone rows (all, or the ``rows`` mask over drone rows);
        returns (drone, failsafe mode) taken now."""
        nd = self.n_drones
        taken: list[tuple[int, int]] = []
        active = self.airborne[:nd] & self.gnss_susceptible & (self.nav != Nav.SPOOFED)
        if rows is not None:
            active &= rows
        active &= self.mode[:nd] == Mode.CRUISE
        newly = active & denied & np.isnan(self.denied_since_s) & (self.nav == Nav.GNSS)
        self.denied_since_s[newly] = t_s
        # lock regained before the timeout: the drone carries on as if nothing happened
        regained = active & ~denied & (self.nav == Nav.GNSS)
        self.denied_since_s[regained] = np.nan
        due = active & (self.nav == Nav.GNSS) & (t_s - self.denied_since_s >= self.lock_timeout_s)
        for k in np.flatnonzero(due):
            fs = int(self.failsafe[k])
            if fs == Mode.CRUISE:
                self.nav[k] = Nav.INS  # continue on INS; drift starts now
            else:
                self.mode[k] = fs
            self.drone_velocities(np.array([k]))
            taken.append((int(k), fs))
        return taken

    def spoof(self, k: int, divert_enu: F64, spoofer: int) -> None:
        """Captured: the drone now believes it is offset so that its aim point maps onto divert."""
        aim = self.wp[k, self.n_wp[k] - 1, :2]
        self.wp_idx[k] = self.n_wp[k] - 1
        self.nav[k] = Nav.SPOOFED
        self.nav_err[k, :2] = aim - divert_enu[:2]
        self.spoofed_by[k] = spoofer
        self.drone_velocities(np.array([k]))


_DRONE_FIELDS = ("speed_mps", "alt_m", "n_wp", "wp_idx", "launch", "nav", "nav_err",
                 "drift_mps", "gnss_susceptible", "denied_since_s", "failsafe",
                 "lock_timeout_s", "glide_ratio", "crash_draw", "p_crash", "endurance_s",
                 "fate", "t_fate_s", "impact", "spoofed_by")
_ROW_FIELDS = ("kind", "pos", "vel", "rcs_m2", "mode", "t_start_s", "emits_rf", "transponder",
               "t_end_s")


def concat_air(parts: list[AirState]) -> tuple[AirState, NDArray[np.int64], NDArray[np.int64]]:
    """Stack replications' states into one (drone rows of every part first, then the other
    rows of every part, each in part order), so the drone-only arrays stay a prefix.

    Returns the state, each row's part index and each row's row number within its part.
    Waypoint tables are padded to the longest; winds become per-drone rows.
    """
    nds = [p.n_drones for p in parts]
    part = np.concatenate([np.full(nd, i) for i, nd in enumerate(nds)]
                          + [np.full(p.n - nd, i) for i, (p, nd) in enumerate(
                              zip(parts, nds, strict=True))]).astype(np.int64)
    local = np.concatenate([np.arange(nd) for nd in nds]
                           + [nd + np.arange(p.n - nd) for p, nd in zip(parts, nds,
                                                                        strict=True)])
    kw: dict[str, object] = {}
    for f in _ROW_FIELDS:
        a = [getattr(p, f) for p in parts]
        kw[f] = np.concatenate([x[:nd] for x, nd in zip(a, nds, strict=True)]
                               + [x[nd:] for x, nd in zip(a, nds, strict=True)])
    for f in _DRONE_FIELDS:
        kw[f] = np.concatenate([getattr(p, f) for p in parts])
    w_max = max((p.wp.shape[1] for p in parts), default=1)
    kw["wp"] = np.concatenate([np.pad(p.wp, ((0, 0), (0, w_max - p.wp.shape[1]), (0, 0)),
                                      mode="edge") if p.wp.shape[0] else
                               np.zeros((0, w_max, 3)) for p in parts])
    kw["wind"] = np.concatenate([np.broadcast_to(p.wind if p.wind.ndim == 1 else p.wind[:, :],
                                                 (nd, 3)) for p, nd in zip(parts, nds,
                                                                           strict=True)]) \
        if sum(nds) else np.zeros((0, 3))
    kw["bird_centre"] = np.concatenate([p.bird_centre for p in parts])
    kw["bird_radius_m"] = np.concatenate([p.bird_radius_m for p in parts])
    return AirState(n_drones=int(sum(nds)), **kw), part, local.astype(np.int64)
