"""Chi-square gating behind a spatial pre-gate.

Pairs (track, report) are first proposed by a grid over the reports (``_grid_pairs``), within a
radius per track that bounds its chi-square gate (so no valid pair is ever missed), then tested
exactly. For small problems every pair is tested directly: below a few thousand pairs that is
cheaper than binning the reports. Cost therefore grows about linearly with the number of targets.

The compiled path tightens the pre-gate (``gate_kernels.gate_candidates``): each track's window
is centred on it predicted to the middle of the reports' time span and sized for its own
largest interval to a report, and each report in the window must pass the trace bound of its
own pair's gate (``|nu|² <= G trace S``, a necessary condition) before the exact test. In a
dense raid (thousands of tracks, radar reports with cross-range errors of hundreds of metres)
the radius over the whole span, sized for the worst report, proposed ~60 candidates per
gated pair, and the candidates were most of the tracker's time; the pairs that come out are
the same.

Reports may carry their own times (a rotating radar stamps each one). Tracks are predicted
once to a reference time; each pair's predicted position and innovation covariance are then
shifted to the report's time with the exact constant-velocity propagation of the mean and
covariance (plus the white-acceleration noise of the interval), which is enough to gate and
rank; the update itself re-predicts the track exactly to the report time.

Both steps are compiled (``gate_kernels``): the tracker gates once per sensor batch, and in
NumPy some sixty operations on arrays of a few hundred elements cost more in call overhead
than in arithmetic. ``_gate_numpy`` and ``_grid_pairs_numpy`` are the NumPy formulation, kept
as the reference the compiled path is tested against bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .gate_kernels import gate_candidates, gate_exact, gate_spans, near_pairs
from .linalg import mahalanobis_sym6

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["GatedPairs", "gate"]


@dataclass(frozen=True, slots=True)
class GatedPairs:
    """Pairs inside the gate: track row, report row, squared distance, log det S."""

    track: I64
    report: I64
    d2: F64
    log_det_s: F64


def _empty() -> GatedPairs:
    e = np.empty(0, dtype=np.int64)
    f = np.empty(0)
    return GatedPairs(e, e, f, f)


# Flat (row * 6 + col) indices into a 6×6 covariance of, in order: the six distinct entries
# (xx, xy, xz, yy, yz, zz) of the position block, of the position-velocity block read as
# P[a, b+3] and as P[b, a+3] (their sum is the symmetric cross term), and of the velocity block.
_UA = np.array([0, 0, 0, 1, 1, 2])
_UB = np.array([0, 1, 2, 1, 2, 2])
_BLOCKS = np.concatenate([_UA * 6 + _UB, _UA * 6 + _UB + 3, _UB * 6 + _UA + 3,
                          (_UA + 3) * 6 + _UB + 3])  # fmt: skip


_NO_DT = np.empty(0)  # |dt|³ when every track and report is at one time: not read


def gate(
    x: F64,
    P: F64,
    t_track_s: F64,
    z: F64,
    R: F64,
    t_report_s: F64,
    gate_chi2: float,
    q_m2_s3: float,
    dense_pairs_max: int,
) -> GatedPairs:
    """Gate tracks (mean ``x`` (n, 6), covariance ``P`` (n, 6, 6) valid at ``t_track_s`` (n,))
    against reports ``z`` (m, 3), ``R`` (m, 3, 3) taken at ``t_report_s`` (m,).

    ``q_m2_s3`` is the largest process-noise density, used to widen the gate for the interval
    between a track's time and a report's.

    Compiled (``gate_kernels``); the result is bit for bit that of the NumPy formulation
    ``_gate_numpy``, kept as the reference.
    """
    n, m = x.shape[0], z.shape[0]
    if n == 0 or m == 0:
        return _empty()
    tt_lo, tt_hi, t_lo, t_hi, tr_r = gate_spans(t_track_s, t_report_s, R)
    same_time = t_lo == t_hi == tt_lo == tt_hi
    # The radius's scalars, in Python floats exactly as ``_gate_numpy`` forms them (``**`` on
    # floats is libm's pow).
    big_dt = max(abs(t_hi - tt_lo), abs(t_lo - tt_hi))
    c1, c2, c3 = 2 * big_dt, big_dt**2, q_m2_s3 * big_dt**3
    dense = n * m <= dense_pairs_max
    # Candidate buffer: room for the usual few per track in one pass; later passes (radii
    # covering much of the scene) double it up to _CHUNK_PAIRS, which bounds the memory.
    cap = n * m if dense else 4 * (n + m)
    parts = []
    i = 0
    while i < n:
        cap = max(min(cap, _CHUNK_PAIRS), m)
        ti, mj, adt, i = gate_candidates(x, P, t_track_s, z, R, t_report_s, t_lo, t_hi, c1,
                                         c2, c3, tr_r, gate_chi2, big_dt, q_m2_s3, same_time,
                                         dense, i, cap)
        cap *= 2
        if ti.size:
            # |dt|³ by NumPy's power, as the reference computes it (see gate_kernels).
            adt3 = _NO_DT if same_time else adt**3
            parts.append(gate_exact(x, P, t_track_s, z, R, t_report_s, ti, mj, adt3,
                                    q_m2_s3, gate_chi2, same_time))
    if not parts:
        return _empty()
    ti, mj, d2, det = (parts[0] if len(parts) == 1
                       else [np.concatenate(c) for c in zip(*parts, strict=True)])
    return GatedPairs(ti, mj, d2, np.log(det))


def _gate_numpy(
    x: F64,
    P: F64,
    t_track_s: F64,
    z: F64,
    R: F64,
    t_report_s: F64,
    gate_chi2: float,
    q_m2_s3: float,
    dense_pairs_max: int,
) -> GatedPairs:
    """``gate`` in NumPy: the reference the compiled version is tested against."""
    n, m = x.shape[0], z.shape[0]
    if n == 0 or m == 0:
        return _empty()
    # Entry-major ("struct of arrays") copies: every formula below then works on contiguous
    # rows, several times faster than on strided views of (n, 6, 6) stacks.
    blocks = P.reshape(n, 36)[:, _BLOCKS].T  # (24, n)
    R6 = R.reshape(m, 9)[:, _UA * 3 + _UB].T  # (6, m)
    xT = x.T  # (6, n)
    zT = z.T  # (3, m)
    t_lo, t_hi = float(t_report_s.min()), float(t_report_s.max())
    tt_lo, tt_hi = float(t_track_s.min()), float(t_track_s.max())
    same_time = t_lo == t_hi == tt_lo == tt_hi

    if n * m <= dense_pairs_max:
        # Small problem: test every pair by broadcasting (n, 1) against (1, m); no index arrays.
        dt = None if same_time else (t_report_s[None, :] - t_track_s[:, None])
        d2, log_det = _exact(blocks[:, :, None], xT[:, :, None], R6[:, None, :],
                             zT[:, None, :], dt, q_m2_s3)
        ti, mj = np.nonzero(d2 <= gate_chi2)
        return GatedPairs(ti, mj, d2[ti, mj], log_det[ti, mj])

    big_dt = max(abs(t_hi - tt_lo), abs(t_lo - tt_hi))
    # Pre-gate radius: the largest eigenvalue of any pair's S is bounded by its trace, so a
    # report farther than sqrt(G * trace) + |v| * max|dt| from the track cannot be in the gate.
    tr_pp = blocks[0] + blocks[3] + blocks[5]
    tr_pv = np.abs(blocks[6] + blocks[9] + blocks[11])
    tr_vv = blocks[18] + blocks[21] + blocks[23]
    tr_r = float((R6[0] + R6[3] + R6[5]).max())
    bound = tr_pp + 2 * big_dt * tr_pv + big_dt**2 * tr_vv + q_m2_s3 * big_dt**3 + tr_r
    speed = np.sqrt(xT[3] ** 2 + xT[4] ** 2 + xT[5] ** 2)
    radius = np.sqrt(gate_chi2 * bound) + speed * big_dt
    ti, mj = _grid_pairs_numpy(x[:, :3], radius, z)
    if ti.size == 0:
        return _empty()
    dt = None if same_time else t_report_s[mj] - t_track_s[ti]
    d2, log_det = _exact(blocks[:, ti], xT[:, ti], R6[:, mj], zT[:, mj], dt, q_m2_s3)
    keep = d2 <= gate_chi2
    return GatedPairs(ti[keep], mj[keep], d2[keep], log_det[keep])


def _exact(
    blocks: F64, xT: F64, R6: F64, zT: F64, dt: F64 | None, q_m2_s3: float
) -> tuple[F64, F64]:
    """Squared Mahalanobis distance and ln det S of (broadcastable) track/report pairs.

    Inputs are entry-major: ``blocks`` (24, ...), ``xT`` (6, ...), ``R6`` (6, ...), ``zT`` (3, ...).
    Each pair's predicted position covariance at its report time is
    Ppp + dt (Ppv + Pvp) + dt² Pvv + Q(dt): the exact CV propagation of the covariance.
    """
    if dt is None:
        S6 = blocks[:6] + R6
        nu = zT - xT[:3]
    else:
        S6 = blocks[:6] + dt * (blocks[6:12] + blocks[12:18]) + (dt * dt) * blocks[18:24] + R6
        noise = q_m2_s3 * np.abs(dt) ** 3 / 3.0
        S6[0] += noise
        S6[3] += noise
        S6[5] += noise
        nu = zT - xT[:3] - xT[3:] * dt
    d2, det = mahalanobis_sym6(S6, nu)
    return d2, np.log(det)


# Pre-gate grid: rows are this many mean radii tall (north), columns a quarter of a row wide.
_ROW_RADII = 3.0
_COL_PER_ROW = 4
# Candidates expanded at once: bounds the memory when radii cover much of the scene.
_CHUNK_PAIRS = 1 << 20


def _grid_pairs(pos: F64, radius: F64, z: F64) -> tuple[I64, I64]:
    """Every pair (track i, report j) with ``|z[j] - pos[i]|² <= radius[i]²``, sorted by track
    then report (the pairs, in the same order, of the k-d tree ``query_ball_point`` this
    replaced): ``gate_kernels.near_pairs``, in passes of at most ``_CHUNK_PAIRS`` pairs.
    Report positions must be finite; a track with a NaN position or radius gets no pair, one
    with an infinite radius gets every report. ``_grid_pairs_numpy`` is the NumPy reference.
    """
    n, m = pos.shape[0], z.shape[0]
    if n == 0 or m == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    radius = np.asarray(radius, dtype=np.float64)
    found_t: list[I64] = []
    found_m: list[I64] = []
    cap, i = 4 * (n + m), 0
    while i < n:
        cap = max(min(cap, _CHUNK_PAIRS), m)
        ti, mj, i = near_pairs(pos, radius, z, i, cap)
        cap *= 2
        found_t.append(ti)
        found_m.append(mj)
    if len(found_t) == 1:
        return found_t[0], found_m[0]
    return np.concatenate(found_t), np.concatenate(found_m)


def _grid_pairs_numpy(pos: F64, radius: F64, z: F64) -> tuple[I64, I64]:
    """``_grid_pairs`` in NumPy, the reference: the same pairs in the same order.

    Reports are sorted by grid cell, row-major, so the cells a track's reach spans within one
    row are one slice of the sorted reports, found by two binary searches; the slices are then
    expanded into candidate pairs with ``repeat``/``cumsum`` arithmetic and filtered by the
    exact distance test. Report positions must be finite; a track with a NaN position or
    radius gets no pair, one with an infinite radius gets every report.
    """
    n, m = pos.shape[0], z.shape[0]
    if n == 0 or m == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    px, py = pos[:, 0], pos[:, 1]
    zx, zy = z[:, 0], z[:, 1]
    # Windows reach a little beyond the radius, by far more than the rounding of the cell
    # arithmetic, so no pair the distance test accepts lies in a cell just outside them (the
    # last term: squares of distances under ~1e-154 underflow to zero and pass the test).
    reach = radius * (1.0 + 1e-9) + 1e-9 * (np.abs(px) + np.abs(py)) + 1e-150
    x0, y0 = float(zx.min()), float(zy.min())
    span = max(float(zx.max()) - x0, float(zy.max()) - y0)
    # Rows sized on the mean radius: a track then spans 1 + 2 / _ROW_RADII rows on average, so
    # there are about 2n searches however skewed the radii. East is also binned (finer, as
    # columns cost nothing) rather than searched by value, so the sort keys are exact integers.
    # The floor keeps keys far inside int64; a NaN or +inf mean gives one row.
    h = _ROW_RADII * float(np.mean(radius))
    h = max(h, span * 2.0**-20) if h < span else span
    if h == 0.0:  # every report at one point
        h = 1.0
    w = h / _COL_PER_ROW
    z_row = np.floor((zy - y0) / h).astype(np.int64)
    z_col = np.floor((zx - x0) / w).astype(np.int64)
    # Grid size from the cells themselves: span / w can round below the last report's cell.
    nx, ny = int(z_col.max()) + 1, int(z_row.max()) + 1
    key = z_row * nx + z_col
    order = np.argsort(key)
    key = key[order]

    # Cells covered by each track's reach, clipped to the grid (empty if entirely outside;
    # far outside a tiny grid the cell index overflows to ±inf, which clips just as well; NaN
    # casts to garbage, masked below).
    with np.errstate(over="ignore", invalid="ignore"):
        r_lo = np.clip(np.floor((py - reach - y0) / h), 0, ny).astype(np.int64)
        r_hi = np.clip(np.floor((py + reach - y0) / h), -1, ny - 1).astype(np.int64)
        c_lo = np.clip(np.floor((px - reach - x0) / w), 0, nx).astype(np.int64)
        c_hi = np.clip(np.floor((px + reach - x0) / w), -1, nx - 1).astype(np.int64)
    rows = np.where((c_hi >= c_lo) & (reach >= 0), np.maximum(r_hi - r_lo + 1, 0), 0)
    # One query per (track, row): the key range [row, c_lo] .. [row, c_hi].
    q_track = np.repeat(np.arange(n), rows)
    q_row = np.arange(q_track.size) - np.repeat(np.cumsum(rows) - rows - r_lo, rows)
    lo_key = q_row * nx + c_lo[q_track]
    # Binary searches in key order are several times faster than in track order (each starts
    # from the previous hit, in cache); the output is sorted at the end anyway.
    s = np.argsort(lo_key)
    q_track, lo_key = q_track[s], lo_key[s]
    start = np.searchsorted(key, lo_key, "left")
    count = np.searchsorted(key, lo_key + (c_hi - c_lo)[q_track], "right") - start

    ends = np.cumsum(count)
    total = int(ends[-1]) if ends.size else 0
    cuts = np.searchsorted(ends, np.arange(_CHUNK_PAIRS, total, _CHUNK_PAIRS), "right")
    bounds = [0, *cuts.tolist(), ends.size]
    r2 = radius * radius
    found: list[I64] = []
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        c = count[a:b]
        ti = np.repeat(q_track[a:b], c)
        mj = order[np.arange(ti.size) + np.repeat(start[a:b] - (np.cumsum(c) - c), c)]
        d = z[mj] - pos[ti]
        inside = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2] <= r2[ti]
        found.append(ti[inside] * m + mj[inside])
    # One packed key per pair: a plain sort of int64 is much faster than a lexsort.
    pair = np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
    return pair // m, pair % m
