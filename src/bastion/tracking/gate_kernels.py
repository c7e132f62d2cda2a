"""Compiled gating kernels (Numba) behind ``gating.gate``.

The tracker gates once per sensor batch: in a block of replications about a thousand tracks
against a few hundred reports, of which a few hundred pairs are proposed and kept. Written in
NumPy, the pre-gate and the exact test are some sixty array operations on arrays of that size,
and their per-call overhead, not the arithmetic, was the cost. Here the pre-gate proposes the
candidate pairs in one pass and the exact test keeps those inside the gate in another.

The two passes stay apart because the white-acceleration term of the gate needs ``|dt|³``,
and NumPy's SIMD ``power`` on this class of machine differs in the last bit from the libm
``pow`` a compiled kernel would call: the caller evaluates it in NumPy on the candidates, so
the distances are bit-for-bit those of the NumPy formulation (``gating._gate_numpy``). Every
other operation is IEEE addition, multiplication, division or square root, written in the
same order as there; ``fastmath`` is off. Division follows NumPy's error model (a zero
determinant gives inf or NaN, as in NumPy, rather than raising).

Pairs come out sorted by track, then report, as the NumPy version produces them.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["gate_candidates", "gate_exact", "gate_spans", "near_pairs"]

# Pre-gate grid: rows this many mean radii tall (north), columns a quarter of a row wide, as in
# ``gating._grid_pairs_numpy``; at most about this many cells per report (plus 1,024).
_ROW_RADII = 3.0
_COL_PER_ROW = 4
_CELLS_PER_REPORT = 8
# Relative margin on the trace bound of the candidate test (``_within_trace``): the bound
# holds exactly, the margin absorbs the rounding of the chi-square test's own arithmetic
# (below 1e-9 relative for any innovation covariance with a condition number under ~1e6).
_TRACE_SLACK = 1.0 + 1e-3


@nb.njit(cache=True, inline="always")
def _lo_hi(a):  # pragma: no cover - compiled
    # (min, max) of a non-empty 1-D array, both NaN if any element is (as np.min, np.max).
    lo = hi = a[0]
    for k in range(a.shape[0]):
        v = a[k]
        if v != v:
            return v, v
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@nb.njit(cache=True)
def gate_spans(t_track, t_report, R):  # pragma: no cover - compiled
    """(min, max) of ``t_track`` (n,), (min, max) of ``t_report`` (m,) and the largest trace
    of the report covariances ``R`` (m, 3, 3), NaN where ``np.min``/``np.max`` would give NaN:
    the scalars of the pre-gate radius in one call instead of five."""
    tt_lo, tt_hi = _lo_hi(t_track)
    t_lo, t_hi = _lo_hi(t_report)
    tr = np.empty(R.shape[0])
    for j in range(R.shape[0]):
        tr[j] = R[j, 0, 0] + R[j, 1, 1] + R[j, 2, 2]
    return tt_lo, tt_hi, t_lo, t_hi, _lo_hi(tr)[1]


@nb.njit(cache=True, inline="always")
def _radius(x, P, i, c1, c2, c3, tr_r, gate_chi2, big_dt):  # pragma: no cover - compiled
    # The largest eigenvalue of any pair's S is bounded by its trace, so a report farther than
    # sqrt(G * trace) + |v| * max|dt| from the track cannot be in its gate. Term by term the
    # NumPy expression: tr_pp + 2 dt tr_pv + dt² tr_vv + q dt³ + tr_r, c1..c3 its scalars.
    tr_pp = P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]
    tr_pv = abs(P[i, 0, 3] + P[i, 1, 4] + P[i, 2, 5])
    tr_vv = P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]
    bound = tr_pp + c1 * tr_pv + c2 * tr_vv + c3 + tr_r
    speed = math.sqrt(x[i, 3] * x[i, 3] + x[i, 4] * x[i, 4] + x[i, 5] * x[i, 5])
    return math.sqrt(gate_chi2 * bound) + speed * big_dt


@nb.njit(cache=True)
def _report_grid(z, r_sum, r_cnt):  # pragma: no cover - compiled
    # Grid over the reports, with a directory: reports are counting-sorted by cell, row-major,
    # and each cell's first report is kept, so the reports of the cells a window spans within
    # one row, which are contiguous, are found by two look-ups. Cells are sized on the mean
    # finite radius (r_sum / r_cnt): rows _ROW_RADII of it tall (a window spans
    # 1 + 2 / _ROW_RADII rows on average), columns a quarter of that; but there are at most
    # about _CELLS_PER_REPORT cells per report, so memory and the directory's cost stay
    # linear in the reports: when areas lie far apart (replications side by side), rows (if
    # they alone would exceed a quarter of that) and then columns are widened until the grid
    # fits, a cell then holding the reports of a longer strip. (Searching sorted cell keys
    # instead, one binary search per row, measured two to four times slower on such blocks.)
    m = z.shape[0]
    zx0, zy0 = z[0, 0], z[0, 1]
    zx1, zy1 = zx0, zy0
    for j in range(1, m):
        zx0 = min(zx0, z[j, 0])
        zx1 = max(zx1, z[j, 0])
        zy0 = min(zy0, z[j, 1])
        zy1 = max(zy1, z[j, 1])
    span_x, span_y = zx1 - zx0, zy1 - zy0
    span = max(span_x, span_y)
    if not span < np.inf:  # reports ~1e308 apart: no grid, every track scans them all
        span_x = span_y = span = 0.0
        scan_all = True
    else:
        scan_all = False
    h = _ROW_RADII * (r_sum / r_cnt) if r_cnt else span
    h = max(h, span * 2.0**-20) if h < span else span
    if h == 0.0:  # every report at one point
        h = 1.0
    w = h / _COL_PER_ROW
    budget = _CELLS_PER_REPORT * m + 1024
    max_rows = budget // 4
    if span_y / h >= max_rows - 1:
        h = span_y / (max_rows - 2)
    max_cols = budget // (int(span_y / h) + 1)
    if span_x / w >= max_cols - 1:
        w = span_x / (max_cols - 2)
    # Each report's cell (finite, non-negative and bounded quotients: math.floor's integer
    # is exact); the grid's size from the cells themselves, as span / w can round below the
    # last report's cell.
    key = np.zeros(m, np.int64)
    z_row = np.zeros(m, np.int64)
    for j in range(0 if scan_all else m):
        key[j] = math.floor((z[j, 0] - zx0) / w)
        z_row[j] = math.floor((z[j, 1] - zy0) / h)
    nx = 0
    ny = 0
    for j in range(m):
        nx = max(nx, key[j] + 1)
        ny = max(ny, z_row[j] + 1)
    for j in range(m):
        key[j] += nx * z_row[j]
    n_cells = nx * ny
    first = np.zeros(n_cells + 1, np.int64)
    for j in range(m):
        first[key[j] + 1] += 1
    for c in range(n_cells):
        first[c + 1] += first[c]
    order = np.empty(m, np.int64)
    fill = first[:-1].copy()
    for j in range(m):
        order[fill[key[j]]] = j
        fill[key[j]] += 1
    # Sorted copies of the coordinates: the walk through a window reads them in order.
    sx = np.empty(m)
    sy = np.empty(m)
    sz = np.empty(m)
    for s in range(m):
        j = order[s]
        sx[s] = z[j, 0]
        sy[s] = z[j, 1]
        sz[s] = z[j, 2]
    return zx0, zy0, h, w, nx, ny, scan_all, first, order, sx, sy, sz


@nb.njit(cache=True, inline="always")
def _window(px, py, reach, zx0, zy0, h, w, nx, ny, scan_all, m):  # pragma: no cover
    # The grid cells within ``reach`` of (px, py): (mode, r_lo, r_hi, c_lo, c_hi), mode 0 no
    # cell, 1 every report (no grid, a NaN or infinite window, or as many rows as reports:
    # two look-ups per row against m distance tests), 2 rows r_lo..r_hi, columns c_lo..c_hi.
    f_rlo = (py - reach - zy0) / h
    f_rhi = (py + reach - zy0) / h
    f_clo = (px - reach - zx0) / w
    f_chi = (px + reach - zx0) / w
    if scan_all or not (f_rlo == f_rlo and f_rhi == f_rhi and f_clo == f_clo
                        and f_chi == f_chi):
        return 1, 0, 0, 0, 0
    if f_rhi < 0.0 or f_rlo >= ny or f_chi < 0.0 or f_clo >= nx:
        return 0, 0, 0, 0, 0
    # Cells clipped to the grid in floating point, then floored (the clip keeps the
    # conversion to an integer in range).
    r_lo = math.floor(max(f_rlo, 0.0))
    r_hi = math.floor(min(f_rhi, ny - 0.5))
    c_lo = math.floor(max(f_clo, 0.0))
    c_hi = math.floor(min(f_chi, nx - 0.5))
    if r_hi - r_lo + 1 >= m:
        return 1, 0, 0, 0, 0
    return 2, r_lo, r_hi, c_lo, c_hi


@nb.njit(cache=True, inline="always")
def _sort_hits(buf, c):  # pragma: no cover - compiled
    # Hits of different cells come in cell order: sort them by report (a handful, so by
    # insertion unless there are many).
    if c > 32:
        buf[:c] = np.sort(buf[:c])
    else:
        for u in range(1, c):
            v = buf[u]
            p = u - 1
            while p >= 0 and buf[p] > v:
                buf[p + 1] = buf[p]
                p -= 1
            buf[p + 1] = v


@nb.njit(cache=True)
def near_pairs(pos, radius, z, i0, cap):  # pragma: no cover - compiled
    """The pairs (i, j), i >= ``i0``, with ``|z[j] - pos[i]|² <= radius[i]²`` (distance
    written ``dx² + dy² + dz²`` in that order), sorted by i then j: ``(ti, mj, next_i)``.

    ``pos`` (n, >= 3): the first three columns are read; ``z`` (m, 3) must be finite. A row
    with a NaN radius or position gets no pair, nor (as in ``gating._grid_pairs_numpy``) one
    whose radius is negative by more than ~1e-150; one with an infinite radius gets every
    report. At most ``cap`` (>= m) pairs: rows are taken in order while the next one cannot
    overflow it, so memory stays bounded whatever the radii; the caller resumes from
    ``next_i`` until it is n.
    """
    n, m = pos.shape[0], z.shape[0]
    # The output is filled without bound checks: a row adds at most m pairs, and the next
    # row is only started while that still fits (growing buffers in the loop cost more, in
    # reference counting, than the search itself).
    ti = np.empty(cap, np.int64)
    mj = np.empty(cap, np.int64)
    k = 0
    r_sum = 0.0
    r_cnt = 0
    for i in range(i0, n):
        r = radius[i]
        if r >= 0.0 and r < np.inf:
            r_sum += r
            r_cnt += 1
    zx0, zy0, h, w, nx, ny, scan_all, first, order, sx, sy, sz = _report_grid(z, r_sum, r_cnt)
    buf = np.empty(m, np.int64)
    for i in range(i0, n):
        if k + m > cap:
            return ti[:k], mj[:k], i
        r = radius[i]
        px, py, pz = pos[i, 0], pos[i, 1], pos[i, 2]
        # The window reaches a little beyond the radius, by far more than the rounding of
        # the cell arithmetic (the last term: squared distances under ~1e-154 underflow).
        reach = r * (1.0 + 1e-9) + 1e-9 * (abs(px) + abs(py)) + 1e-150
        if not reach >= 0.0:  # a NaN (or negative) radius or a NaN position: no pair
            continue
        r2 = r * r
        mode, r_lo, r_hi, c_lo, c_hi = _window(px, py, reach, zx0, zy0, h, w, nx, ny,
                                               scan_all, m)
        if mode == 0:
            continue  # the window misses every report's cell
        if mode == 1:  # every report, in order
            for j in range(m):
                dx, dy, dz = z[j, 0] - px, z[j, 1] - py, z[j, 2] - pz
                if dx * dx + dy * dy + dz * dz <= r2:
                    ti[k] = i
                    mj[k] = j
                    k += 1
            continue
        c = 0
        for row in range(r_lo, r_hi + 1):
            lo = row * nx + c_lo
            a, b = first[lo], first[lo + (c_hi - c_lo) + 1]
            for s in range(a, b):
                dx, dy, dz = sx[s] - px, sy[s] - py, sz[s] - pz
                if dx * dx + dy * dy + dz * dz <= r2:
                    buf[c] = order[s]
                    c += 1
        _sort_hits(buf, c)
        for u in range(c):
            ti[k] = i
            mj[k] = buf[u]
            k += 1
    return ti[:k], mj[:k], n


@nb.njit(cache=True, inline="always")
def _within_trace(zx, zy, zz, t_j, tr_rj, x, i, t_i, tr_pp, tr_pv, tr_vv, q, g_slack,
                  same_time):  # pragma: no cover - compiled
    # The pair's innovation nu, written as gate_exact writes it (so the same bits), against
    # the trace of its S: nu' S⁻¹ nu <= G implies |nu|² <= G λmax(S) <= G trace(S), and
    # trace(S) <= tr_pp + 2 |dt| tr_pv + dt² tr_vv + q |dt|³ + trace(R) (tr_pv = |Σ Ppv|).
    if same_time:
        nx = zx - x[i, 0]
        ny = zy - x[i, 1]
        nz = zz - x[i, 2]
        b = tr_pp + tr_rj
    else:
        dt = t_j - t_i
        nx = zx - x[i, 0] - x[i, 3] * dt
        ny = zy - x[i, 1] - x[i, 4] * dt
        nz = zz - x[i, 2] - x[i, 5] * dt
        ad = abs(dt)
        b = tr_pp + 2.0 * ad * tr_pv + ad * ad * tr_vv + q * ad * ad * ad + tr_rj
    return nx * nx + ny * ny + nz * nz <= g_slack * b


@nb.njit(cache=True)
def gate_candidates(x, P, t_track, z, R, t_report, t_lo, t_hi, c1, c2, c3, tr_r, gate_chi2,
                    big_dt, q_m2_s3, same_time, all_pairs, i0, cap):  # pragma: no cover
    """Candidate pairs of tracks ``i0..`` (x (n, 6), P (n, 6, 6), t_track (n,)) and reports
    (z (m, 3), R (m, 3, 3), t_report (m,) within ``t_lo``..``t_hi``), sorted by track then
    report, with ``|t_report - t_track|``.

    ``all_pairs``: every pair (the dense small-problem path). Otherwise the pairs within the
    trace bound of their own gate (``_within_trace``), a necessary condition for the
    chi-square test that rejects most of the pairs it does not pass, found through a grid
    window per track: the track predicted to the middle of the report span, with radius
    ``sqrt(G × bound)`` at the track's largest interval to a report plus its speed times half
    the span, which holds every report that can pass. A track whose radius over the whole
    span of the problem (``_radius`` from ``c1``..``c3``, ``tr_r``, ``big_dt``: the pre-gate
    of ``gating._gate_numpy``) is NaN gets no pair, as there. ``q_m2_s3``, ``same_time``: as
    for ``gate_exact``. At most ``cap`` (>= m) pairs, as in ``near_pairs``; returns
    ``(ti, mj, adt, next_track)``.
    """
    n, m = x.shape[0], z.shape[0]
    if all_pairs:
        i1 = min(n, i0 + cap // m)
        ti = np.empty((i1 - i0) * m, np.int64)
        mj = np.empty((i1 - i0) * m, np.int64)
        adt = np.empty((i1 - i0) * m)
        k = 0
        for i in range(i0, i1):
            for j in range(m):
                ti[k] = i
                mj[k] = j
                adt[k] = abs(t_report[j] - t_track[i])
                k += 1
        return ti, mj, adt, i1
    # Per track: window centre (predicted to the middle of the report span) and radius.
    t_c = 0.5 * (t_lo + t_hi)
    half = 0.5 * (t_hi - t_lo)
    cen = np.empty((n, 2))
    win = np.full(n, np.nan)
    r_sum = 0.0
    r_cnt = 0
    for i in range(i0, n):
        if not _radius(x, P, i, c1, c2, c3, tr_r, gate_chi2, big_dt) >= 0.0:
            continue  # NaN: no pair
        ti_ = t_track[i]
        d = max(abs(t_hi - ti_), abs(t_lo - ti_))
        tr_pp = P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]
        tr_pv = abs(P[i, 0, 3] + P[i, 1, 4] + P[i, 2, 5])
        tr_vv = P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]
        bound = tr_pp + 2.0 * d * tr_pv + d * d * tr_vv + q_m2_s3 * d * d * d + tr_r
        speed = math.sqrt(x[i, 3] * x[i, 3] + x[i, 4] * x[i, 4] + x[i, 5] * x[i, 5])
        r = math.sqrt(gate_chi2 * bound) + speed * half
        sh = t_c - ti_
        cen[i, 0] = x[i, 0] + x[i, 3] * sh if sh != 0.0 else x[i, 0]
        cen[i, 1] = x[i, 1] + x[i, 4] * sh if sh != 0.0 else x[i, 1]
        win[i] = r
        if r >= 0.0 and r < np.inf:
            r_sum += r
            r_cnt += 1
    zx0, zy0, h, w, nx, ny, scan_all, first, order, sx, sy, sz = _report_grid(z, r_sum, r_cnt)
    st = np.empty(m)  # report times and traces of R in grid order
    sr = np.empty(m)
    tr_rep = np.empty(m)
    for j in range(m):
        tr_rep[j] = R[j, 0, 0] + R[j, 1, 1] + R[j, 2, 2]
    for s in range(m):
        st[s] = t_report[order[s]]
        sr[s] = tr_rep[order[s]]
    g_slack = gate_chi2 * _TRACE_SLACK
    ti = np.empty(cap, np.int64)
    mj = np.empty(cap, np.int64)
    adt = np.empty(cap)
    k = 0
    buf = np.empty(m, np.int64)
    for i in range(i0, n):
        if k + m > cap:
            return ti[:k], mj[:k], adt[:k], i
        r = win[i]
        px, py = cen[i, 0], cen[i, 1]
        reach = r * (1.0 + 1e-9) + 1e-9 * (abs(px) + abs(py)) + 1e-150
        if not reach >= 0.0:
            continue
        mode, r_lo, r_hi, c_lo, c_hi = _window(px, py, reach, zx0, zy0, h, w, nx, ny,
                                               scan_all, m)
        if mode == 0:
            continue
        t_i = t_track[i]
        tr_pp = P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]
        tr_pv = abs(P[i, 0, 3] + P[i, 1, 4] + P[i, 2, 5])
        tr_vv = P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5]
        c = 0
        if mode == 1:  # every report, in order
            for j in range(m):
                if _within_trace(z[j, 0], z[j, 1], z[j, 2], t_report[j], tr_rep[j], x, i, t_i,
                                 tr_pp, tr_pv, tr_vv, q_m2_s3, g_slack, same_time):
                    buf[c] = j
                    c += 1
        else:
            for row in range(r_lo, r_hi + 1):
                lo = row * nx + c_lo
                a, b = first[lo], first[lo + (c_hi - c_lo) + 1]
                for s in range(a, b):
                    if _within_trace(sx[s], sy[s], sz[s], st[s], sr[s], x, i, t_i, tr_pp,
                                     tr_pv, tr_vv, q_m2_s3, g_slack, same_time):
                        buf[c] = order[s]
                        c += 1
            _sort_hits(buf, c)
        for u in range(c):
            j = buf[u]
            ti[k] = i
            mj[k] = j
            adt[k] = abs(t_report[j] - t_i)
            k += 1
    return ti[:k], mj[:k], adt[:k], n


@nb.njit(cache=True, error_model="numpy")
def gate_exact(x, P, t_track, z, R, t_report, ti, mj, adt3, q_m2_s3, gate_chi2,
               same_time):  # pragma: no cover - compiled
    """The candidate pairs ``ti``, ``mj`` inside the chi-square gate: ``(track, report, d2,
    det S)``, in candidate order.

    Each pair's predicted position covariance at its report time is
    Ppp + dt (Ppv + Pvp) + dt² Pvv + Q(dt), Q(dt) = q |dt|³ / 3 on the diagonal, with
    ``adt3`` = |dt|³ from NumPy; with ``same_time`` (every track and report at one time) it is
    Ppp and ``adt3`` is not read. Operation for operation the NumPy formulation
    (``gating._exact`` and ``linalg.mahalanobis_sym6``).
    """
    k = ti.shape[0]
    o_t = np.empty(k, np.int64)
    o_m = np.empty(k, np.int64)
    o_d2 = np.empty(k)
    o_det = np.empty(k)
    c = 0
    for p in range(k):
        i, j = ti[p], mj[p]
        if same_time:
            a = P[i, 0, 0] + R[j, 0, 0]
            b = P[i, 0, 1] + R[j, 0, 1]
            cc = P[i, 0, 2] + R[j, 0, 2]
            d = P[i, 1, 1] + R[j, 1, 1]
            e = P[i, 1, 2] + R[j, 1, 2]
            f = P[i, 2, 2] + R[j, 2, 2]
            nx = z[j, 0] - x[i, 0]
            ny = z[j, 1] - x[i, 1]
            nz = z[j, 2] - x[i, 2]
        else:
            dt = t_report[j] - t_track[i]
            dt2 = dt * dt
            # entries (xx, xy, xz, yy, yz, zz): Ppp[a,b] + dt (P[a, b+3] + P[b, a+3])
            # + dt² P[a+3, b+3] + R[a, b]
            a = P[i, 0, 0] + dt * (P[i, 0, 3] + P[i, 0, 3]) + dt2 * P[i, 3, 3] + R[j, 0, 0]
            b = P[i, 0, 1] + dt * (P[i, 0, 4] + P[i, 1, 3]) + dt2 * P[i, 3, 4] + R[j, 0, 1]
            cc = P[i, 0, 2] + dt * (P[i, 0, 5] + P[i, 2, 3]) + dt2 * P[i, 3, 5] + R[j, 0, 2]
            d = P[i, 1, 1] + dt * (P[i, 1, 4] + P[i, 1, 4]) + dt2 * P[i, 4, 4] + R[j, 1, 1]
            e = P[i, 1, 2] + dt * (P[i, 1, 5] + P[i, 2, 4]) + dt2 * P[i, 4, 5] + R[j, 1, 2]
            f = P[i, 2, 2] + dt * (P[i, 2, 5] + P[i, 2, 5]) + dt2 * P[i, 5, 5] + R[j, 2, 2]
            noise = q_m2_s3 * adt3[p] / 3.0
            a += noise
            d += noise
            f += noise
            nx = z[j, 0] - x[i, 0] - x[i, 3] * dt
            ny = z[j, 1] - x[i, 1] - x[i, 4] * dt
            nz = z[j, 2] - x[i, 2] - x[i, 5] * dt
        A = d * f - e * e
        B = cc * e - b * f
        C = b * e - cc * d
        det = a * A + b * B + cc * C
        quad = (A * nx * nx + (a * f - cc * cc) * ny * ny + (a * d - b * b) * nz * nz
                + 2.0 * (B * nx * ny + C * nx * nz + (b * cc - a * e) * ny * nz))
        d2 = quad / det
        if d2 <= gate_chi2:
            o_t[c] = i
            o_m[c] = j
            o_d2[c] = d2
            o_det[c] = det
            c += 1
    return o_t[:c].copy(), o_m[:c].copy(), o_d2[:c].copy(), o_det[:c].copy()
