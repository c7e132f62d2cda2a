"""Compiled passes of the sensors' scans (Numba).

A scan of a 64-replication block looks at ~1,850 rows and reports a few hundred: as NumPy
expressions that was some sixty calls per radar scan (selection, geometry, masks, MTI,
Swerling Pd, the random draws, the polar conversion, the time sort), each with its
temporaries, and per-call overhead was most of the cost. Here the arithmetic runs in a few
compiled row loops; what is left to NumPy is every transcendental function (arctan2,
arcsin, power, the inverse normal CDF): NumPy's SIMD versions can differ in the last bit
from the libm ones compiled code calls, and the reports must stay bit-identical. Those
functions are elementwise, so evaluating them on the rows that survive a cut rather than on
all rows changes no value. (The polar conversion was compiled before and still is.)

The arithmetic is written in the order the NumPy expressions evaluated it, ``fastmath`` off,
so every value is the one the NumPy code produced: a row norm or sum of squares adds ``(x² +
y²) + z²`` as ``np.linalg.norm``/``np.sum(axis=1)`` do; the radial speed adds ``(vx·x +
vz·z) + vy·y``, the order the einsum it replaced used with AVX-512 (the three products in
one vector, reduced as a tree); being fixed here, it no longer depends on the CPU, and
tests/test_sensors.py pins it at the MTI threshold. Random numbers are drawn with
:func:`bastion.core.rng.stream_uniform` for exactly the (replication, entity, counter, slot) keys
the NumPy code used; a draw whose value could not matter (a target already out of coverage,
whose Pd was 0; a false alarm's unused fourth slot) is not made — the streams are
counter-based, so skipping it changes no other number.

Numba's on-disk cache keys these kernels on this file only, though they inline the stream
and polar functions of bastion.core.rng and bastion.core.convert; ``bastion/__init__.py``
therefore names the cache directory after those files' contents, so editing them starts a
fresh cache.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from bastion.core.convert import polar_checked, ucm_factors, ucm_row
from bastion.core.rng import stream_uniform

__all__ = [
    "eoir_candidates", "next_scan", "point_detect",
    "point_in_range", "radar_finish", "radar_geometry", "radar_hits", "radar_near",
    "radar_pd_exponent", "terrain_clutter", "terrain_clutter_rows",
]

_TWO_PI = 2 * np.pi
_RAD2DEG = 180.0 / np.pi  # np.degrees(x) is x * (180 / π)


@nb.njit(cache=True, inline="always", error_model="numpy")
def _mod(a, b):  # pragma: no cover - compiled
    # np.mod for float64 (NumPy's divmod): C fmod, moved into the divisor's sign; an exact
    # zero takes the divisor's sign
    m = np.fmod(a, b)
    if m != 0.0:
        if (b < 0.0) != (m < 0.0):
            m += b
    else:
        m = math.copysign(0.0, b)
    return m


@nb.njit(cache=True, error_model="numpy")
def next_scan(counter, period, stepping, t1):  # pragma: no cover - compiled
    """(B,) scans completed, period, (B,) stepping, t1 -> (found, k, (B,) group): the
    earliest scan k still due by t1 among stepping positions and the positions it is due
    for (``PeriodicSensor.observe`` loops until none is found)."""
    n = counter.shape[0]
    lim = t1 + 1e-9  # a scan ending at t1 (to 1 ns) counts as done
    found = False
    k = 0
    for b in range(n):
        if stepping[b] and (counter[b] + 1) * period <= lim and (not found or counter[b] < k):
            k = counter[b]
            found = True
    group = np.zeros(n, np.bool_)
    if found:
        for b in range(n):
            group[b] = stepping[b] and counter[b] == k and (counter[b] + 1) * period <= lim
    return found, k, group


# ---------------------------------------------------------------------------- radar
@nb.njit(cache=True, error_model="numpy")
def radar_near(airborne, group, row_block, pos, spos, max_range):  # pragma: no cover
    """Airborne rows of the scanning positions within max_range of the radar at spos ->
    (rows, east offset, north offset) for the azimuth (np.arctan2(east, north))."""
    n = airborne.shape[0]
    idx = np.empty(n, np.int64)
    dx = np.empty(n)
    dy = np.empty(n)
    m = 0
    for i in range(n):
        if airborne[i] and group[row_block[i]]:
            x = pos[i, 0] - spos[0]
            y = pos[i, 1] - spos[1]
            z = pos[i, 2] - spos[2]
            if math.sqrt((x * x + y * y) + z * z) <= max_range:
                idx[m] = i
                dx[m] = x
                dy[m] = y
                m += 1
    return idx[:m], dx[:m], dy[:m]


# rows of the radar's float work table (one column per candidate report)
TB, RX, RY, SEL, RNG, BASE, EXPO = range(7)


@nb.njit(cache=True, error_model="numpy")
def radar_geometry(idx, a, pos, vel, rcs, spos, t0, period, t1, h1, re2, min_speed, snr90,
                   ref_rcs, r90):  # pragma: no cover - compiled
    """Near rows and their arctan2 -> (table (7, m), rows) of the rows above the horizon
    and above ground with enough radial speed for the MTI: where the target was when the
    beam crossed its azimuth (table rows TB beam time, RX/RY east/north offset for the new
    azimuth, SEL the clipped sine of elevation, RNG range, BASE = R90 / range for the
    fourth power, EXPO the SNR factor before it)."""
    n = idx.shape[0]
    f = np.empty((7, n))
    rows = np.empty(n, np.int64)
    m = 0
    for j in range(n):
        i = idx[j]
        az = _mod(a[j], _TWO_PI)
        tb = t0 + az / _TWO_PI * period  # the beam crosses azimuth az at t0 + az/2π·T
        dt = t1 - tb
        px = pos[i, 0] - vel[i, 0] * dt
        py = pos[i, 1] - vel[i, 1] * dt
        pz = pos[i, 2] - vel[i, 2] * dt
        rx = px - spos[0]
        ry = py - spos[1]
        rz = pz - spos[2]
        r = math.sqrt((rx * rx + ry * ry) + rz * rz)
        h2 = pz if (pz >= 0.0 or pz != pz) else 0.0  # np.maximum(pz, 0.0)
        if not (r <= h1 + math.sqrt(re2 * h2) and pz > 0):
            continue
        rr = max(r, 1e-9)
        v_rad = ((vel[i, 0] * rx + vel[i, 2] * rz) + vel[i, 1] * ry) / rr
        if not abs(v_rad) >= min_speed:
            continue
        s = rz / rr
        if s < -1.0:
            s = -1.0
        elif s > 1.0:
            s = 1.0
        rows[m] = i
        f[TB, m] = tb
        f[RX, m] = rx
        f[RY, m] = ry
        f[SEL, m] = s
        f[RNG, m] = r
        f[BASE, m] = r90 / r
        f[EXPO, m] = snr90 * (rcs[i] / ref_rcs)
        m += 1
    return f[:, :m], rows[:m]


# two-way Gaussian beam: the one-way power pattern exp(-4 ln2 θ²/θ3²), squared
_BEAM2 = 8.0 * math.log(2.0)


@nb.njit(cache=True, error_model="numpy")
def terrain_clutter(e, az, r, rcs, hor, gnd, sea, az_step, r_step, los, clut):
    """(hidden, SCR) of a target at elevation e, azimuth az (rad, 0..2π), range r with RCS
    rcs, from a terrain profile (horizon, ground, sea tables by azimuth and range bin):
    hidden when ``los`` and e is below the horizon there; SCR the signal-to-clutter ratio
    after the MTI (inf without clutter): clutter RCS / I = c · r · w, c = σ0 · θaz · ΔR / I
    of land or sea (clut = [c_land, c_sea, 3 dB elevation beamwidth rad, on]) and w the
    two-way beam pattern at the angle between the target and the ground beneath it."""
    naz = hor.shape[0]
    nr = hor.shape[1]
    ia = int(az / az_step) % naz
    ir = int(r / r_step)
    if ir > nr - 1:
        ir = nr - 1
    if ir < 0:
        ir = 0
    if los and e < hor[ia, ir]:
        return True, np.inf
    if clut[3] == 0.0:
        return False, np.inf
    g = gnd[ia, ir]
    if g != g:  # the ground at that range is in shadow: no clutter from it
        return False, np.inf
    q = (e - g) / clut[2]
    w = math.exp(-_BEAM2 * (q * q))
    c = clut[1] if sea[ia, ir] > 0.5 else clut[0]
    cl = c * r * w
    if not cl > 0.0:
        return False, np.inf
    return False, rcs / cl


@nb.njit(cache=True, error_model="numpy")
def terrain_clutter_rows(e, az, r, rcs, hor, gnd, sea, az_step, r_step, los, clut):
    """:func:`terrain_clutter` over arrays (the coverage maps' NumPy reference calls it,
    so the scan and the maps compute the same numbers)."""
    n = e.shape[0]
    hidden = np.zeros(n, np.bool_)
    scr = np.empty(n)
    for j in range(n):
        hidden[j], scr[j] = terrain_clutter(e[j], az[j], r[j], rcs[j], hor, gnd, sea, az_step,
                                            r_step, los, clut)
    return hidden, scr


@nb.njit(cache=True, error_model="numpy")
def radar_pd_exponent(f, rows, a2, el, p4, el_max, mask, rcs, hor, gnd, sea, az_step, r_step,
                      los, clut):  # pragma: no cover - compiled
    """Keep (in place, at the front of f and rows) the rows inside the elevation coverage,
    outside every (az0°, az1°, min el°) mask and not behind terrain, with RX := azimuth,
    RY := elevation and EXPO := 1 / (1 + SINR) (SNR = factor · (R90/r)^4 = factor · p4;
    with clutter 1/SINR = 1/SNR + 1/SCR, see :func:`terrain_clutter`); returns how
    many."""
    m = 0
    for j in range(rows.shape[0]):
        az = _mod(a2[j], _TWO_PI)
        e = el[j]
        ok = e <= el_max
        a = az * _RAD2DEG
        e_deg = e * _RAD2DEG
        for q in range(mask.shape[0]):
            a0, a1, emin = mask[q, 0], mask[q, 1], mask[q, 2]
            sector = (a >= a0 and a <= a1) if a0 <= a1 else (a >= a0 or a <= a1)
            if sector and e_deg < emin:
                ok = False
        if not ok:
            continue
        hidden, scr = terrain_clutter(e, az, f[RNG, j], rcs[rows[j]], hor, gnd, sea, az_step,
                                      r_step, los, clut)
        if hidden:
            continue
        snr = f[EXPO, j] * p4[j]
        if scr < np.inf:
            snr = 1.0 / (1.0 / snr + 1.0 / scr)  # SINR (reciprocals: no overflow)
        rows[m] = rows[j]
        f[TB, m] = f[TB, j]
        f[RX, m] = az
        f[RY, m] = e
        f[RNG, m] = f[RNG, j]
        f[EXPO, m] = 1.0 / (1.0 + snr)
        m += 1
    return m


@nb.njit(cache=True, error_model="numpy")
def radar_hits(f, rows, m, pd, keys, row_block, row_local, k):  # pragma: no cover
    """Swerling draws (slot 0) against pd for the first m rows; the detected ones are kept
    in place at the front, with their range/azimuth/elevation noise uniforms (slots 1-3)
    -> (count, (count, 3) uniforms)."""
    u = np.empty((m, 3))
    h = 0
    for j in range(m):
        i = rows[j]
        key = keys[row_block[i]]
        e = row_local[i]
        if stream_uniform(key, e, k, 0) < pd[j]:
            rows[h] = i
            f[TB, h] = f[TB, j]
            f[RX, h] = f[RX, j]
            f[RY, h] = f[RY, j]
            f[RNG, h] = f[RNG, j]
            for c in range(3):
                u[h, c] = stream_uniform(key, e, k, c + 1)
            h += 1
    return h, u[:h]


@nb.njit(cache=True, error_model="numpy")
def _searchsorted_left(a, v):  # pragma: no cover - compiled
    # np.searchsorted(a, v) (side 'left'): the first i with a[i] >= v
    lo, hi = 0, a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True, error_model="numpy")
def radar_finish(f, rows, h, noise, group, keys, row_block, k, fa_cdf, clutter, max_range,
                 el_fa, t0, period, spos, sig, index):  # pragma: no cover - compiled
    """Measured reports of the h detections (noise = standard normals) and this scan's false
    alarms (a Poisson count per scanning position, uniform over the range-azimuth cells and
    up to el_fa in elevation), converted to ENU and sorted by beam time (stable) -> (status,
    t, sensor, z, R, truth, rep); status is polar_checked's (when it is not 0 the rest is
    not meaningful)."""
    B = group.shape[0]
    n_fa = np.zeros(B, np.int64)
    total = 0
    for b in range(B):
        if group[b]:
            n_fa[b] = _searchsorted_left(fa_cdf, stream_uniform(keys[b], clutter, k, 0))
            total += n_fa[b]
    m = h + total
    rm = np.empty(m)
    azm = np.empty(m)
    elm = np.empty(m)
    tb = np.empty(m)
    truth = np.empty(m, np.int64)
    rep = np.empty(m, np.int64)
    for j in range(h):
        # A range cannot be negative: a target within a few σ of the antenna is reported at
        # zero range rather than failing the conversion (and the run).
        r_meas = f[RNG, j] + noise[j, 0] * sig[0]
        rm[j] = r_meas if r_meas > 0.0 else 0.0
        azm[j] = f[RX, j] + noise[j, 1] * sig[1]
        elm[j] = f[RY, j] + noise[j, 2] * sig[2]
        tb[j] = f[TB, j]
        truth[j] = rows[j]
        rep[j] = row_block[rows[j]]
    j = h
    span = max_range - 200.0
    for b in range(B):
        for q in range(n_fa[b]):
            e = clutter + 1 + q
            rm[j] = 200.0 + stream_uniform(keys[b], e, k, 1) * span
            az = stream_uniform(keys[b], e, k, 2) * 2 * np.pi
            azm[j] = az
            elm[j] = stream_uniform(keys[b], e, k, 3) * el_fa
            tb[j] = t0 + az / _TWO_PI * period
            truth[j] = -1
            rep[j] = b
            j += 1
    z = np.empty((m, 3))
    R = np.empty((m, 3, 3))
    status = polar_checked(spos, rm, azm, elm, sig[0:1], sig[1:2], sig[2:3], z, R)
    order = np.argsort(tb, kind="mergesort")  # stable, as np.argsort(kind="stable")
    t_s = np.empty(m)
    sensor = np.full(m, index, np.int64)
    truth_s = np.empty(m, np.int64)
    rep_s = np.empty(m, np.int64)
    if status == 0:
        fac = ucm_factors(sig[1], sig[2])
        for o in range(m):
            i = order[o]
            t_s[o] = tb[i]
            truth_s[o] = truth[i]
            rep_s[o] = rep[i]
            ucm_row(spos, rm[i], azm[i], elm[i], sig[0], fac, z, R, o)
    return status, t_s, sensor, z, R, truth_s, rep_s


# ---------------------------------------------------------------------------- point sensors
@nb.njit(cache=True, error_model="numpy")
def point_in_range(airborne, group, row_block, pos, spos, range2, sel, kind,
                   want_kind):  # pragma: no cover - compiled
    """Airborne rows of the group's positions within sqrt(range2) of spos that have
    sel[row] set and, if want_kind >= 0, that kind."""
    n = airborne.shape[0]
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if airborne[i] and group[row_block[i]]:
            x = pos[i, 0] - spos[0]
            y = pos[i, 1] - spos[1]
            z = pos[i, 2] - spos[2]
            if ((x * x + y * y) + z * z <= range2 and sel[i]
                    and (want_kind < 0 or kind[i] == want_kind)):
                idx[m] = i
                m += 1
    return idx[:m]


@nb.njit(cache=True, error_model="numpy")
def eoir_candidates(airborne, group, row_block, pos, spos, range2, cue_track, cue_t, cue_pos,
                    cue_vel, busy_until, slew, t_k, fov):  # pragma: no cover - compiled
    """Rows an EO/IR turret sees at t_k: in range, in a position of the group whose turret
    has slewed to a cue and still dwells, within fov of where the cue has moved to."""
    B = group.shape[0]
    on = np.zeros(B, np.bool_)
    for b in range(B):
        on[b] = (group[b] and cue_track[b] >= 0 and cue_t[b] + slew <= t_k
                 and t_k < busy_until[b])
    n = airborne.shape[0]
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        b = row_block[i]
        if airborne[i] and on[b]:
            x = pos[i, 0] - spos[0]
            y = pos[i, 1] - spos[1]
            z = pos[i, 2] - spos[2]
            if (x * x + y * y) + z * z <= range2:
                dt = t_k - cue_t[b]
                dx = pos[i, 0] - (cue_pos[b, 0] + cue_vel[b, 0] * dt)
                dy = pos[i, 1] - (cue_pos[b, 1] + cue_vel[b, 1] * dt)
                dz = pos[i, 2] - (cue_pos[b, 2] + cue_vel[b, 2] * dt)
                if math.sqrt((dx * dx + dy * dy) + dz * dz) <= fov:
                    idx[m] = i
                    m += 1
    return idx[:m]


@nb.njit(cache=True, error_model="numpy")
def eoir_reported(idx, kind, cum, keys, row_block, row_local, k):  # pragma: no cover
    """The class each candidate is reported as: a uniform (slot 7) against the cumulative
    confusion row of its true class (cum (K, K))."""
    n = idx.shape[0]
    K = cum.shape[1]
    out = np.empty(n, np.int64)
    for j in range(n):
        i = idx[j]
        u = stream_uniform(keys[row_block[i]], row_local[i], k, 7)
        c = 0
        for q in range(K):
            if u > cum[kind[i], q]:
                c += 1
        out[j] = min(c, K - 1)
    return out


@nb.njit(cache=True, error_model="numpy")
def point_detect(idx, pd, keys, row_block, row_local, k, pos, vel, dt):  # pragma: no cover
    """Detection draws (slot 0) against pd for candidate rows idx -> (positions in idx of
    the detected, their rows, block positions, positions dt seconds before, (h, 3) noise
    uniforms of slots 1-3)."""
    n = idx.shape[0]
    sel = np.empty(n, np.int64)
    rows = np.empty(n, np.int64)
    rep = np.empty(n, np.int64)
    p = np.empty((n, 3))
    u = np.empty((n, 3))
    h = 0
    for j in range(n):
        i = idx[j]
        b = row_block[i]
        e = row_local[i]
        if stream_uniform(keys[b], e, k, 0) < pd:
            sel[h] = j
            rows[h] = i
            rep[h] = b
            for c in range(3):
                p[h, c] = pos[i, c] - vel[i, c] * dt
                u[h, c] = stream_uniform(keys[b], e, k, c + 1)
            h += 1
    return sel[:h], rows[:h], rep[:h], p[:h], u[:h]
