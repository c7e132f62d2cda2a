"""Compiled truth propagation (Numba): ``AirState.advance`` and its velocity law, row by row.

The air state holds a few hundred drones and a thousand birds per lock-step block; the
NumPy propagation ran some forty array calls per tick (masks, fancy indexing, a pass loop
over waypoint crossings), and was called once more per projectile arrival on a single
replication's rows, paying the whole-array cost each time. A compiled loop over the rows
does the same arithmetic with no temporaries, and costs in proportion to the selected rows.

Every row's result depends only on its own inputs, in the same order of floating-point
operations as the NumPy expressions it replaced (``tests/sim/test_air_kernels.py`` checks
bit for bit against them): only ``+ − × ÷`` and ``sqrt``, which IEEE 754 rounds exactly,
so compiled and NumPy results agree to the bit. ``fastmath`` is off.

Modes, navigation and fates are the integer codes of ``bastion.sim.world.air`` (repeated here
as plain constants because compiled code cannot read the classes).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from bastion.core.numerics import np_maximum as _maximum
from bastion.core.numerics import np_minimum as _minimum

__all__ = ["advance_kernel", "denied_kernel", "velocities_kernel"]

# Mode codes (world.air.Mode)
_WAITING, _CRUISE, _LAND, _LOITER, _RETURN, _DOWN, _GONE = 0, 1, 2, 3, 4, 5, 6
# Nav codes (world.air.Nav)
_GNSS, _INS, _SPOOFED = 0, 1, 2
# Fate codes (world.air.Fate)
_LANDED, _CRASHED, _ATTACKED, _RETURNED, _OUT_OF_FUEL = 2, 3, 4, 5, 6
_BIRD = 1  # Kind.BIRD
# Flight phases of drone rows (world.air.Phase). Fixed-wing rows stay in _FIXED and fly the
# law bastion has always used; multirotor rows go through the others in order.
_FIXED, _CLIMB, _ACCEL, _MR_CRUISE, _BRAKE, _APPROACH, _HOVER = 0, 1, 2, 3, 4, 5, 6
# Columns of the per-drone kinematics table ``kin`` (world.air.KIN_COLUMNS)
_K_CLIMB, _K_DESCENT, _K_VAPP, _K_RAPP, _K_BRAKE_M, _K_HOVER_S, _K_ACCEL_S = 0, 1, 2, 3, 4, 5, 6
# Waypoint / landing passes per interval (as the NumPy loop it replaced bounded them)
MAX_PASSES = 64


@nb.njit(cache=True, inline="always", error_model="numpy")
def _airborne(m):  # pragma: no cover - compiled
    return m != _WAITING and m != _DOWN and m != _GONE


@nb.njit(cache=True, inline="always", error_model="numpy")
def _to_aim(k, m, pos, nav_err, launch, wp, wp_idx):  # pragma: no cover - compiled
    # What drone k believes lies between it and its aim (the next waypoint, or the launch
    # point when returning): aim minus believed position (true + navigation error).
    bx = pos[k, 0] + nav_err[k, 0]
    by = pos[k, 1] + nav_err[k, 1]
    if m == _RETURN:
        ax = launch[k, 0]
        ay = launch[k, 1]
    else:
        i = wp_idx[k]
        ax = wp[k, i, 0]
        ay = wp[k, i, 1]
    return ax - bx, ay - by


@nb.njit(cache=True, error_model="numpy")
def _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx, speed, alt,
              glide, phase, kin):  # pragma: no cover - compiled
    # True velocity of drone k from its mode and navigation (AirState.drone_velocities).
    m = mode[k]
    vx = 0.0
    vy = 0.0
    vz = 0.0
    ph = phase[k] if m == _CRUISE else _FIXED
    mr = phase[k] != _FIXED  # a multirotor (whatever its mode)
    if ph == _CLIMB or ph == _HOVER:
        # straight up off the ground, or holding over the aim: no ground speed of its own
        # (on INS its wind estimate is off by its drift, so it drifts with it)
        ins = nav[k] == _INS
        vx = -drift[k, 0] if ins else 0.0
        vy = -drift[k, 1] if ins else 0.0
        vz = kin[k, _K_CLIMB] if ph == _CLIMB else 0.0
    elif m == _CRUISE or m == _RETURN:
        dx, dy = _to_aim(k, m, pos, nav_err, launch, wp, wp_idx)
        den = _maximum(math.sqrt(dx * dx + dy * dy), 1e-9)
        ux = dx / den
        uy = dy / den
        ins = nav[k] == _INS or nav[k] == _SPOOFED
        # the wind the autopilot believes in (adding 0.0 off INS, as the array form did)
        ex = drift[k, 0] if ins else 0.0
        ey = drift[k, 1] if ins else 0.0
        wx = wind[k, 0] + ex
        wy = wind[k, 1] + ey
        a = speed[k]
        if ph == _ACCEL:  # speeding up from the hover: the mean of 0 and cruise speed
            a = 0.5 * speed[k]
        elif ph == _BRAKE:  # slowing into the approach: the mean of the two speeds
            a = 0.5 * (speed[k] + _minimum(kin[k, _K_VAPP], speed[k]))
        elif ph == _APPROACH:
            a = _minimum(kin[k, _K_VAPP], speed[k])
        uw = ux * wx + uy * wy
        w2 = wx * wx + wy * wy
        disc = _maximum(a * a - w2 + uw * uw, 0.0)
        g = _maximum(uw + math.sqrt(disc), 0.1 * a)
        vx = ux * g - ex
        vy = uy * g - ey
        # hold cruise altitude (barometric): climb/descend toward it at the airframe's
        # rates (3 m/s either way for fixed-wing)
        c = alt[k] - pos[k, 2]
        if c < -kin[k, _K_DESCENT]:
            c = -kin[k, _K_DESCENT]
        elif c > kin[k, _K_CLIMB]:
            c = kin[k, _K_CLIMB]
        vz = c / 1.0
    elif m == _LAND and mr:
        # a multirotor lands where it is: straight down at its descent rate
        vz = -kin[k, _K_DESCENT]
    elif m == _LAND:
        cx = vel[k, 0]
        cy = vel[k, 1]
        sp = math.sqrt(cx * cx + cy * cy)
        den = _maximum(sp, 1e-9)
        if sp > 0.5:
            ux = cx / den
            uy = cy / den
        else:  # no heading (e.g. hovering): glide east-north-east
            ux = 0.8
            uy = 0.6
        vx = ux * speed[k]
        vy = uy * speed[k]
        vz = -speed[k] / glide[k]
    vel[k, 0] = vx
    vel[k, 1] = vy
    vel[k, 2] = vz


@nb.njit(cache=True, error_model="numpy")
def velocities_kernel(idx, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx, speed,
                      alt, glide, phase, kin):  # pragma: no cover - compiled
    """Recompute the velocity of drones ``idx`` (int64 (m,)); wind is per drone (nd, 3)."""
    for k in idx:
        _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx, speed, alt,
                  glide, phase, kin)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _time_to_event(k, mode, pos, vel, nav, nav_err, drift, launch, wp, wp_idx, n_wp, t_now,
                   phase, phase_t, kin):  # pragma: no cover - compiled
    # Time until drone k reaches its aim (cruise/return) or the ground (landing), or (a
    # multirotor) the end of its climb, acceleration or hover, or the start of its braking
    # or approach; inf else.
    m = mode[k]
    ph = phase[k] if m == _CRUISE else _FIXED
    if ph == _CLIMB:
        return _maximum(_alt_gap(k, pos, wp, wp_idx), 0.0) / kin[k, _K_CLIMB]
    if ph == _HOVER:
        return _maximum(phase_t[k] - t_now, 0.0)
    if m == _CRUISE or m == _RETURN:
        dx, dy = _to_aim(k, m, pos, nav_err, launch, wp, wp_idx)
        dist = math.sqrt(dx * dx + dy * dy)
        # believed velocity = true + drift (INS); its component toward the aim closes it
        ins = nav[k] == _INS or nav[k] == _SPOOFED
        qx = vel[k, 0] + (drift[k, 0] if ins else 0.0)
        qy = vel[k, 1] + (drift[k, 1] if ins else 0.0)
        closing = math.sqrt(qx * qx + qy * qy)
        if dist < 1.0:
            return 0.0
        t = dist / _maximum(closing, 1e-6)
        if ph == _ACCEL:  # up to speed, or at the waypoint first
            t = _minimum(t, _maximum(phase_t[k] - t_now, 0.0))
        if (ph == _MR_CRUISE or ph == _BRAKE) and wp_idx[k] == n_wp[k] - 1:
            # the next phase boundary on the final leg: braking, then the approach
            edge = kin[k, _K_RAPP] + (kin[k, _K_BRAKE_M] if ph == _MR_CRUISE else 0.0)
            t = _minimum(t, _maximum(dist - edge, 0.0) / _maximum(closing, 1e-6))
        return t
    if m == _LAND:
        if vel[k, 2] < 0:
            return pos[k, 2] / -vel[k, 2]
        return np.inf
    return np.inf


@nb.njit(cache=True, inline="always", error_model="numpy")
def _alt_gap(k, pos, wp, wp_idx):  # pragma: no cover - compiled
    # how far below its cruise altitude (the waypoints' height) drone k still is
    return wp[k, wp_idx[k], 2] - pos[k, 2]


@nb.njit(cache=True, inline="always", error_model="numpy")
def _end(k, f, t, gone, mode, vel, pos, fate, t_fate, impact):  # pragma: no cover - compiled
    mode[k] = _GONE if gone else _DOWN
    vel[k, 0] = 0.0
    vel[k, 1] = 0.0
    vel[k, 2] = 0.0
    fate[k] = f
    t_fate[k] = t
    impact[k, 0] = pos[k, 0]
    impact[k, 1] = pos[k, 1]
    impact[k, 2] = pos[k, 2]
    return f


@nb.njit(cache=True, error_model="numpy")
def advance_kernel(t0, t1, sel, kind, pos, vel, mode, t_start, t_end, speed, alt, wp, n_wp,
                   wp_idx, launch, nav, nav_err, drift, wind, glide, crash_draw, p_crash,
                   endurance, fate, t_fate, impact, bird_centre, bird_radius, bird_weave,
                   phase, phase_t,
                   kin):  # pragma: no cover - compiled
    """Move the rows in ``sel`` (bool (n,)) from t0 to t1 (> t0) in place.

    Drone rows are the first ``speed.shape[0]``; their per-drone arrays are (nd, ...), wind
    (nd, 3). Returns (pass, drone, fate, t) of the drones that ended, ordered as the NumPy
    loop reported them: by waiting pass (waypoint crossings so far), then by row; running
    out of fuel (checked at t1) counts as pass ``MAX_PASSES``.
    """
    n = kind.shape[0]
    nd = speed.shape[0]
    e_pass = np.empty(nd, np.int64)
    e_row = np.empty(nd, np.int64)
    e_fate = np.empty(nd, np.int64)
    e_t = np.empty(nd)
    ne = 0
    # launches inside the interval: placed at t_start, they fly the rest; drones get
    # velocities from their mode, own aircraft were given theirs at build
    for k in range(n):
        if sel[k] and mode[k] == _WAITING and t_start[k] <= t1:
            mode[k] = _CRUISE
            if k < nd:
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
    # non-drone rows: straight lines, exact
    for k in range(nd, n):
        if sel[k] and _airborne(mode[k]) and t_start[k] < t1:
            rem = t1 - _maximum(t_start[k], t0)
            for c in range(3):
                pos[k, c] += vel[k, c] * rem
    # drone rows: legs, landings; each drone passes its events in turn
    for k in range(nd):
        if not (sel[k] and _airborne(mode[k]) and t_start[k] < t1):
            continue
        rem = t1 - _maximum(t_start[k], t0)
        t_now = t1 - rem
        for p in range(MAX_PASSES):
            t_evt = _time_to_event(k, mode, pos, vel, nav, nav_err, drift, launch, wp, wp_idx,
                                   n_wp, t_now, phase, phase_t, kin)
            step = _minimum(rem, t_evt)
            for c in range(3):
                pos[k, c] += vel[k, c] * step
            ins = nav[k] == _INS or nav[k] == _SPOOFED
            for c in range(3):
                nav_err[k, c] += drift[k, c] * step if ins else 0.0
            rem = rem - step
            t_now = t_now + step
            if not (t_evt <= step + 1e-9):
                break
            # the event (AirState._event)
            m = mode[k]
            f = 0
            ph = phase[k] if m == _CRUISE else _FIXED
            near = False  # a multirotor's cruise event short of its waypoint: a phase edge
            if ph == _MR_CRUISE or ph == _BRAKE or ph == _APPROACH:
                dx, dy = _to_aim(k, m, pos, nav_err, launch, wp, wp_idx)
                near = dx * dx + dy * dy >= 1.0
            if ph == _CLIMB:  # at cruise altitude: speed up (or cruise if no limit)
                pos[k, 2] = wp[k, wp_idx[k], 2]
                phase[k] = _ACCEL if kin[k, _K_ACCEL_S] > 0.0 else _MR_CRUISE
                phase_t[k] = t_now + kin[k, _K_ACCEL_S]
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
            elif ph == _ACCEL and t_now >= phase_t[k] - 1e-9:
                phase[k] = _MR_CRUISE
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
            elif near:  # crossed into braking or the approach
                dx, dy = _to_aim(k, m, pos, nav_err, launch, wp, wp_idx)
                dist = math.sqrt(dx * dx + dy * dy)
                phase[k] = _APPROACH if dist <= kin[k, _K_RAPP] + 1e-6 else _BRAKE
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
            elif ph == _HOVER:  # done lining up: it dives onto the aim
                pos[k, 2] = 0.0
                f = _end(k, _ATTACKED, t_now, False, mode, vel, pos, fate, t_fate, impact)
            elif m == _LAND:
                pos[k, 2] = 0.0
                f = _end(k, _CRASHED if crash_draw[k] < p_crash[k] else _LANDED, t_now, False,
                         mode, vel, pos, fate, t_fate, impact)
            elif m == _RETURN:
                f = _end(k, _RETURNED, t_now, True, mode, vel, pos, fate, t_fate, impact)
            elif wp_idx[k] + 1 < n_wp[k]:
                wp_idx[k] += 1
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
            elif nav[k] == _SPOOFED:
                # led to the spoofer's controlled area: it dives / lands there
                crashed = crash_draw[k] < p_crash[k]
                pos[k, 2] = 0.0
                f = _end(k, _CRASHED if crashed else _LANDED, t_now, False, mode, vel, pos,
                         fate, t_fate, impact)
            elif ph != _FIXED and kin[k, _K_HOVER_S] > 0.0:
                # over the aim: hover to line up the drop or dive
                phase[k] = _HOVER
                phase_t[k] = t_now + kin[k, _K_HOVER_S]
                _velocity(k, mode, pos, vel, wind, nav, nav_err, drift, launch, wp, wp_idx,
                          speed, alt, glide, phase, kin)
            else:
                pos[k, 2] = 0.0
                f = _end(k, _ATTACKED, t_now, False, mode, vel, pos, fate, t_fate, impact)
            if f:
                e_pass[ne] = p
                e_row[ne] = k
                e_fate[ne] = f
                e_t[ne] = t_now
                ne += 1
            if not (rem > 1e-9 and mode[k] != _DOWN and mode[k] != _GONE):
                break
    for k in range(n):
        if sel[k] and _airborne(mode[k]) and t_end[k] <= t1:
            mode[k] = _GONE
    # endurance
    for k in range(nd):
        if sel[k] and _airborne(mode[k]) and t1 - t_start[k] > endurance[k]:
            _end(k, _OUT_OF_FUEL, t1, False, mode, vel, pos, fate, t_fate, impact)
            e_pass[ne] = MAX_PASSES
            e_row[ne] = k
            e_fate[ne] = _OUT_OF_FUEL
            e_t[ne] = t1
            ne += 1
    # birds wander about a centre: they weave (heading rate A·sin(ωt + φ), so the heading
    # turned over [t0, t1] is A/ω·(cos(ωt0 + φ) − cos(ωt1 + φ)), exact; the position moved
    # on the heading at t0, a chord of the arc for the ~1 s steps of a busy picture), and
    # one leaving its area has its velocity reflected about the radial direction
    i = 0
    for k in range(n):
        if kind[k] != _BIRD:
            continue
        if sel[k] and bird_weave[i, 0] > 0.0:
            a, w, ph = bird_weave[i, 0], bird_weave[i, 1], bird_weave[i, 2]
            dth = a / w * (math.cos(w * t0 + ph) - math.cos(w * t1 + ph))
            c = math.cos(dth)
            s = math.sin(dth)
            vx = vel[k, 0]
            vy = vel[k, 1]
            vel[k, 0] = c * vx + s * vy
            vel[k, 1] = c * vy - s * vx
        if sel[k]:
            rx = pos[k, 0] - bird_centre[i, 0]
            ry = pos[k, 1] - bird_centre[i, 1]
            r = bird_radius[i]
            if rx * rx + ry * ry > r * r and rx * vel[k, 0] + ry * vel[k, 1] > 0:
                nr = math.sqrt(rx * rx + ry * ry)
                ux = rx / nr
                uy = ry / nr
                vx = vel[k, 0]
                vy = vel[k, 1]
                dot = vx * ux + vy * uy
                vel[k, 0] = vx - 2 * dot * ux
                vel[k, 1] = vy - 2 * dot * uy
        i += 1
    return e_pass[:ne], e_row[:ne], e_fate[:ne], e_t[:ne]


@nb.njit(cache=True, error_model="numpy")
def denied_kernel(denied, t_s, rows, mode, gnss_susceptible, nav, denied_since, lock_timeout
                  ):  # pragma: no cover - compiled
    """GNSS denial bookkeeping of drone rows (AirState.set_denied) in place; returns the
    drones whose lock-loss timeout has run out (ascending)."""
    nd = denied.shape[0]
    due = np.empty(nd, np.int64)
    n = 0
    for k in range(nd):
        # cruising (so airborne), susceptible, not captured, in the rows asked about
        if not (rows[k] and mode[k] == _CRUISE and gnss_susceptible[k] and nav[k] != _SPOOFED):
            continue
        if nav[k] != _GNSS:
            continue
        if denied[k]:
            if denied_since[k] != denied_since[k]:
                denied_since[k] = t_s
        else:  # lock regained before the timeout: it carries on as if nothing happened
            denied_since[k] = np.nan
        if t_s - denied_since[k] >= lock_timeout[k]:
            due[n] = k
            n += 1
    return due[:n]
