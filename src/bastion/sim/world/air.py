"""Truth kinematics of everything in the air, as arrays (one row per object).

Rows ``0 .. n_drones-1`` are hostile drones, then birds, then own aircraft. Between events
every object flies at constant velocity, so propagation is exact and time can be skipped:

* A GNSS-guided drone crabs into the wind so its ground track points at its next
  waypoint. On INS it steers with a wind estimate that is off by ``drift_mps`` (drawn per
  drone), so it drifts by exactly that velocity and its navigation error grows linearly.
* A spoofed drone believes it is ``nav_err`` away from where it is and steers its
  *believed* position along its route; the spoofer ramps ``nav_err`` at a constant rate
  (``drift_mps``, as INS drift), so its true track is pushed sideways; on reaching what it
  believes is its aim point it comes down there (the spoofer's intended effect).
  *believed* position to the waypoint; its true path ends at waypoint − nav_err.
* A multirotor (``Phase``) takes off vertically at its climb rate, speeds up at its
  acceleration (flown at the mean speed for the time it takes), cruises, brakes into a
  slow final approach within ``approach_radius_m`` of its aim, hovers there ``hover_s`` to
  line up, then dives. Each phase is a constant velocity, so propagation stays exact; the
  phase boundaries are events like waypoints. Its fail-safe ``land`` is straight down.
* Fail-safe ``land`` glides down at the airframe's glide ratio along its current heading;
  ``loiter`` holds station until endurance runs out; ``return`` flies back to launch.

Waypoint arrivals inside an interval are handled by advancing each drone to its arrival,
switching legs and continuing. The propagation is compiled (``world.kernels``): one pass
over the rows per call, so advancing a single replication's rows is cheap too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from bastion.sim.world.kernels import advance_kernel, denied_kernel, velocities_kernel

__all__ = ["KIN_COLUMNS", "AirState", "Fate", "Kind", "Mode", "Nav", "Phase", "concat_air"]

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


class Phase:
    """Flight phase of a drone row while it cruises (``world.kernels`` repeats the codes)."""

    FIXED = 0  # fixed-wing: the cruise law alone
    CLIMB = 1  # multirotor: straight up to cruise altitude
    ACCEL = 2  # multirotor: speeding up to cruise speed
    CRUISE = 3  # multirotor: at cruise speed
    BRAKE = 4  # multirotor: slowing into the approach
    APPROACH = 5  # multirotor: slow final approach
    HOVER = 6  # multirotor: holding over the aim before the dive
    NAMES = ("fixed", "climb", "accel", "cruise", "brake", "approach", "hover")


# Columns of AirState.kin, the per-drone kinematics table (built from Airframe.kinematics).
KIN_COLUMNS = ("climb_mps", "descent_mps", "approach_speed_mps", "approach_radius_m",
               "brake_m", "hover_s", "accel_s")


def default_kin(nd: int) -> NDArray[np.float64]:
    """The fixed-wing table: ±3 m/s altitude hold and nothing else."""
    kin = np.zeros((nd, len(KIN_COLUMNS)))
    kin[:, 0] = kin[:, 1] = 3.0
    kin[:, 2] = np.inf
    return kin


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
    rf_link: B = field(default_factory=lambda: np.zeros(0, bool))  # flown over a control link
    wind: F64 = field(default_factory=lambda: np.zeros(3))  # (3,), or (nd, 3) per drone
    # --- bird rows: wander about a centre ------------------------------------------------
    bird_centre: F64 = field(default_factory=lambda: np.zeros((0, 3)))
    bird_radius_m: F64 = field(default_factory=lambda: np.zeros(0))
    # (nb, 3) heading-rate amplitude (rad/s), angular frequency (rad/s), phase (rad):
    # rate A·sin(ωt + φ); None → straight lines (zero amplitude)
    bird_weave: F64 | None = None
    # --- drone rows: flight phase (multirotor kinematics) --------------------------------
    phase: I8 = field(default_factory=lambda: np.zeros(0, np.int8))
    phase_t_s: F64 = field(default_factory=lambda: np.zeros(0))  # end of a timed phase
    kin: F64 = field(default_factory=lambda: np.zeros((0, len(KIN_COLUMNS))))

    def __post_init__(self) -> None:
        nd = self.n_drones
        if self.bird_weave is None or self.bird_weave.shape[0] != self.bird_radius_m.shape[0]:
            self.bird_weave = np.zeros((self.bird_radius_m.shape[0], 3))
        if self.phase.shape[0] != nd:  # built without kinematics: all fixed-wing
            self.phase = np.zeros(nd, np.int8)
            self.phase_t_s = np.full(nd, np.nan)
            self.kin = default_kin(nd)
        if self.fate.shape[0] != nd:
            self.fate = np.zeros(nd, np.int8)
            self.t_fate_s = np.full(nd, np.nan)
            self.impact = np.full((nd, 3), np.nan)
            self.spoofed_by = np.full(nd, -1, np.int64)
        if self.rf_link.shape[0] != nd:
            self.rf_link = np.zeros(nd, bool)

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])

    @property
    def airborne(self) -> B:
        return (self.mode != Mode.WAITING) & (self.mode != Mode.DOWN) & (self.mode != Mode.GONE)

    # ----------------------------------------------------------------------- velocities
    def _wind_rows(self) -> F64:
        """Wind per drone row (nd, 3), as the compiled kernels take it."""
        if self.wind.ndim == 2:
            return self.wind
        return np.tile(self.wind, (self.n_drones, 1))

    def drone_velocities(self, idx: NDArray[np.int64]) -> None:
        """Recompute true velocity of drones ``idx`` from their mode and navigation.

        A GNSS-guided (or spoofed) drone solves the wind triangle with the wind it believes
        in so its ground track points at its aim; on INS that belief is off by its drift.
        It holds cruise altitude, climbing or descending toward it at ≤ 3 m/s. A landing
        drone glides along its current heading at its glide ratio. LOITER orbits a point:
        net displacement zero, so its net ground velocity is modelled as zero (radar still
        sees an orbit's radial motion through its speed in the air).
        """
        if idx.size == 0:
            return
        velocities_kernel(np.asarray(idx, np.int64), self.mode, self.pos, self.vel,
                          self._wind_rows(), self.nav, self.nav_err, self.drift_mps,
                          self.launch, self.wp, self.wp_idx, self.speed_mps, self.alt_m,
                          self.glide_ratio, self.phase, self.kin)

    # ----------------------------------------------------------------------- propagation
    def advance(self, t0_s: float, t1_s: float, rows: B | None = None
                ) -> list[tuple[int, int, float]]:
        """Move everything (or the ``rows`` mask) from t0 to t1; return (drone, new_fate,
        t_s) of drones that ended. Rows outside the mask do not change at all: lock-step
        replications each keep their own clock.

        Launches inside the interval are placed at their start time and fly the rest.
        Drones fly leg by leg: one reaching a waypoint turns to the next, one reaching its
        aim point dives (a leaker, or lands in the spoofer's area if spoofed), a gliding one
        lands or crashes, a returning one is gone; drones out of endurance at t1 are down.
        Birds leaving their area turn back. (Compiled: ``world.kernels.advance_kernel``.)
        """
        if t1_s - t0_s <= 0:
            return []
        sel = np.ones(self.n, bool) if rows is None else rows
        e_pass, e_row, e_fate, e_t = advance_kernel(
            float(t0_s), float(t1_s), sel, self.kind, self.pos, self.vel, self.mode,
            self.t_start_s, self.t_end_s, self.speed_mps, self.alt_m, self.wp, self.n_wp,
            self.wp_idx, self.launch, self.nav, self.nav_err, self.drift_mps, self._wind_rows(),
            self.glide_ratio, self.crash_draw, self.p_crash, self.endurance_s, self.fate,
            self.t_fate_s, self.impact, self.bird_centre, self.bird_radius_m, self.bird_weave,
            self.phase,
            self.phase_t_s, self.kin)
        if e_row.size == 0:
            return []
        # the order they were reported in: by waypoint pass, then by row
        order = np.argsort(e_pass, kind="stable")
        return [(int(e_row[i]), int(e_fate[i]), float(e_t[i])) for i in order]

    def _end(self, k: int, fate: int, t_s: float, gone: bool = False) -> int:
        self.mode[k] = Mode.GONE if gone else Mode.DOWN
        self.vel[k] = 0.0
        self.fate[k] = fate
        self.t_fate_s[k] = t_s
        self.impact[k] = self.pos[k]
        return fate

    def shoot_down(self, k: int, t_s: float) -> None:
        self._end(k, Fate.SHOT_DOWN, t_s)

    # ----------------------------------------------------------------------- navigation
    def set_denied(self, denied: B, t_s: float, rows: B | None = None) -> list[tuple[int, int]]:
        """Update GNSS denial for drone rows (all, or the ``rows`` mask over drone rows);
        returns (drone, failsafe mode) taken now."""
        nd = self.n_drones
        taken: list[tuple[int, int]] = []
        # cruising susceptible drones on GNSS: denied ones start (or keep) their lock-loss
        # clock, the others regain lock; those past their timeout take their fail-safe
        # (an rf_link drone's "lock" is its control link: same clock, same fail-safe table)
        due = denied_kernel(denied, float(t_s), np.ones(nd, bool) if rows is None else rows,
                            self.mode, self.gnss_susceptible | self.rf_link, self.nav,
                            self.denied_since_s, self.lock_timeout_s)
        for k in due:
            fs = int(self.failsafe[k])
            if fs == Mode.CRUISE:
                self.nav[k] = Nav.INS  # continue on INS; drift starts now
            else:
                self.mode[k] = fs
            self.drone_velocities(np.array([k]))
            taken.append((int(k), fs))
        return taken

    def spoof(self, k: int, push_xy: F64, rate_mps: float, spoofer: int) -> None:
        """Captured: from now on its believed position walks away from the truth at
        ``rate_mps`` opposite the unit vector ``push_xy``, so steering the belief onto its
        route pushes its true track along ``push_xy`` at that rate. The spoofer does not
        know where the drone is going; where it ends is an output. (The ramp is an INS-like
        drift of the believed position: the same exact constant-velocity propagation.)"""
        self.nav[k] = Nav.SPOOFED
        self.drift_mps[k, :2] = -rate_mps * np.asarray(push_xy, float)[:2]
        self.drift_mps[k, 2] = 0.0
        self.spoofed_by[k] = spoofer
        if self.phase[k] == Phase.HOVER:  # it now believes its aim is elsewhere: flies on
            self.phase[k] = Phase.APPROACH
        self.drone_velocities(np.array([k]))


_DRONE_FIELDS = ("speed_mps", "alt_m", "n_wp", "wp_idx", "launch", "nav", "nav_err",
                 "drift_mps", "gnss_susceptible", "denied_since_s", "failsafe",
                 "lock_timeout_s", "glide_ratio", "crash_draw", "p_crash", "endurance_s",
                 "fate", "t_fate_s", "impact", "spoofed_by", "phase", "phase_t_s", "kin",
                 "rf_link")
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
    kw["bird_weave"] = np.concatenate([p.bird_weave for p in parts]).reshape(-1, 3)
    return AirState(n_drones=int(sum(nds)), **kw), part, local.astype(np.int64)
