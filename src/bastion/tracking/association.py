"""Data association over gated pairs: global nearest neighbour (GNN) and JPDA weights.

GNN maximises the total gain of assigning reports to tracks, where the gain of a pair is how
much cheaper it is than leaving the track unassigned (``miss_cost``). Pairs with no gain are
dropped, so a zero in the cost matrix means "not assigned" and no dummy columns are needed.

The gated problem splits into connected components (tracks and reports linked by a gated
pair). Each component is solved on its own with ``linear_sum_assignment``; components with a
single track or a single report — nearly all of them in a sparse raid — are solved in one
compiled pass that also finds the components (``kernels.gnn_plan``), so only genuinely
contested clusters cost a call. A small problem (the simulator's 10–30 tracks) is solved by
one dense call, which is cheaper than finding its components. ``_gnn_numpy`` is the same
algorithm in NumPy, kept as the reference.

A contested cluster larger than ``_CLUSTER_CELLS_MAX`` (tracks × reports) is not given to
``linear_sum_assignment``: its dense matrix grows with the square of the cluster and the
solver's time up to the cube, and in a raid of thousands of drones one cluster can hold
thousands of tracks (~1,800 tracks × 3,900 reports, a 56 MB matrix, in a 20,000-drone raid;
issue 13 saw such a raid stall for minutes in this step). Such a cluster is solved
greedily within the gate instead — pairs by increasing gain (the best first), a pair taken
when its track and its report are both still free — in O(pairs log pairs). The result is a
valid assignment of gated pairs but not necessarily the best one; ``gnn(..., stats=...)``
counts the clusters (``gnn_fallback``) and their tracks (``gnn_fallback_tracks``), and the
tracker reports them in ``Tracker.stats``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from .kernels import component_labels, gnn_plan

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["gnn", "jpda_weights"]

# Below this many cells (active tracks × active reports) one dense assignment is solved.
_DENSE_CELLS_MAX = 4096
# Largest contested cluster (tracks × reports) solved exactly. The dense matrix is 8 bytes a
# cell and linear_sum_assignment's worst case grows as cells^1.5 (256 × 256: half a MiB and
# at most a few tens of ms; typically well under one); above it, the greedy fallback. The
# built-in scenarios' clusters stay within _DENSE_CELLS_MAX, 16 times below the cap, so their
# results do not depend on it; raids of several thousand drones exceed it in dense clusters.
_CLUSTER_CELLS_MAX = 65_536


def gnn(n: int, m: int, track: I64, report: I64, cost: F64, miss_cost: F64, *,
        stats: dict[str, int] | None = None) -> I64:
    """Return, for each of the ``m`` reports, the row of the track it is assigned to (or -1).

    ``track``, ``report``, ``cost`` describe the gated pairs; ``miss_cost`` (n,) is the cost of
    leaving each track without a report.

    The components and the trivial ones' answers come from one compiled pass
    (``kernels.gnn_plan``); only contested clusters reach ``linear_sum_assignment``, with the
    matrices the NumPy reference ``_gnn_numpy`` gives it, so the result is the same. Clusters
    of more than ``_CLUSTER_CELLS_MAX`` cells are solved greedily (module docstring); with
    ``stats``, their number is added to ``stats["gnn_fallback"]`` and their tracks to
    ``stats["gnn_fallback_tracks"]``.
    """
    # The compiled pass does not check indices (an out-of-range one would write outside its
    # matrices), so the NumPy-level checks the reference got for free are made here.
    k = track.shape[0]
    if report.shape[0] != k or cost.shape[0] != k or miss_cost.shape[0] != n:
        raise ValueError("track, report and cost must have one entry per pair, miss_cost n")
    if k and (track.min() < 0 or track.max() >= n or report.min() < 0 or report.max() >= m):
        raise IndexError("a pair's track or report index is out of range")
    out, G, shape, rows, cols, fallback = gnn_plan(n, m, track, report, cost, miss_cost,
                                                   _DENSE_CELLS_MAX, _CLUSTER_CELLS_MAX)
    if stats is not None and fallback[0]:
        stats["gnn_fallback"] = stats.get("gnn_fallback", 0) + int(fallback[0])
        stats["gnn_fallback_tracks"] = stats.get("gnn_fallback_tracks", 0) + int(fallback[1])
    go = ro = co = 0
    for a, b in shape.tolist():
        block = G[go : go + a * b].reshape(a, b)
        r, c = linear_sum_assignment(block)
        real = block[r, c] < 0.0
        out[cols[co + c[real]]] = rows[ro + r[real]]
        go, ro, co = go + a * b, ro + a, co + b
    return out


def _gnn_numpy(n: int, m: int, track: I64, report: I64, cost: F64, miss_cost: F64) -> I64:
    """``gnn`` in NumPy: the reference the compiled version is tested against."""
    out = np.full(m, -1, dtype=np.int64)
    gain = cost - miss_cost[track]
    use = gain < 0.0
    if not use.all():
        track, report, gain = track[use], report[use], gain[use]
    if track.size == 0:
        return out
    if n * m <= _DENSE_CELLS_MAX:
        G = np.zeros((n, m))
        G[track, report] = gain
        rows, cols = linear_sum_assignment(G)
        real = G[rows, cols] < 0.0
        out[cols[real]] = rows[real]
        return out
    ut, t_idx = np.unique(track, return_inverse=True)
    ur, r_idx = np.unique(report, return_inverse=True)
    if ut.size * ur.size <= _DENSE_CELLS_MAX:
        _solve_dense(ut, ur, t_idx, r_idx, gain, out)
        return out
    return _solve_components(ut, ur, t_idx, r_idx, gain, out)


def _solve_dense(ut: I64, ur: I64, t_idx: I64, r_idx: I64, gain: F64, out: I64) -> None:
    G = np.zeros((ut.size, ur.size))
    G[t_idx, r_idx] = gain
    rows, cols = linear_sum_assignment(G)
    real = G[rows, cols] < 0.0
    out[ur[cols[real]]] = ut[rows[real]]


def _solve_components(
    ut: I64, ur: I64, t_idx: I64, r_idx: I64, gain: F64, out: I64
) -> I64:
    nt, nr = ut.size, ur.size
    label = component_labels(t_idx, nt + r_idx, nt + nr)
    comp = label[t_idx]  # component of each pair
    n_comp = int(label.max()) + 1
    tracks_in = np.bincount(label[:nt], minlength=n_comp)
    reports_in = np.bincount(label[nt:], minlength=n_comp)

    # One track: it takes its best report. One report: it goes to its best track. Sorting the
    # pairs by gain and keeping the first per component gives both arg-mins at once.
    simple = (tracks_in[comp] == 1) | (reports_in[comp] == 1)
    if simple.any():
        order = np.argsort(gain[simple], kind="stable")
        c_s = comp[simple][order]
        _, first = np.unique(c_s, return_index=True)
        sel = np.flatnonzero(simple)[order][first]
        out[ur[r_idx[sel]]] = ut[t_idx[sel]]

    # Clusters above the cap: greedy by gain (a stable sort: ties to the first pair).
    big = (~simple) & (tracks_in[comp] * reports_in[comp] > _CLUSTER_CELLS_MAX)
    if big.any():
        sel = np.flatnonzero(big)
        t_free = np.ones(nt, dtype=bool)
        r_free = np.ones(nr, dtype=bool)
        for p in sel[np.argsort(gain[sel], kind="stable")].tolist():
            a, b = t_idx[p], r_idx[p]
            if t_free[a] and r_free[b]:
                t_free[a] = r_free[b] = False
                out[ur[b]] = ut[a]

    hard = ~simple & ~big
    if hard.any():
        h_comp = comp[hard]
        order = np.argsort(h_comp, kind="stable")
        h_pairs = np.flatnonzero(hard)[order]
        bounds = np.flatnonzero(np.diff(h_comp[order])) + 1
        for block in np.split(h_pairs, bounds):
            bt, bt_i = np.unique(t_idx[block], return_inverse=True)
            br, br_i = np.unique(r_idx[block], return_inverse=True)
            _solve_dense(ut[bt], ur[br], bt_i, br_i, gain[block], out)
    return out


def jpda_weights(
    n: int,
    m: int,
    track: I64,
    report: I64,
    d2: F64,
    log_det_s: F64,
    p_detection: float,
    clutter_density_per_m3: float,
) -> tuple[F64, F64]:
    """Approximate JPDA association probabilities for gated pairs ("cheap JPDA").

    Fitzgerald's approximation (1985): with ``g`` = Pd × Gaussian likelihood of a pair,
    ``beta = g / (sum of g over the track + sum of g over the report - g + (1 - Pd) λ)``.
    A report claimed by several tracks is shared between them as exact JPDA would to first
    order, in a few array passes instead of an enumeration of joint events; it reduces to
    the PDA weights when tracks do not share reports.

    Returns ``beta`` (pairs,) and ``beta0`` (n,), the probability that the track had no report.
    """
    log_g = -0.5 * (d2 + log_det_s + 3.0 * np.log(2.0 * np.pi)) + np.log(p_detection)
    g = np.exp(log_g)
    by_track = np.bincount(track, weights=g, minlength=n)
    by_report = np.bincount(report, weights=g, minlength=m)
    bias = max((1.0 - p_detection), 1e-3) * clutter_density_per_m3
    beta = g / (by_track[track] + by_report[report] - g + bias)
    total = np.bincount(track, weights=beta, minlength=n)
    # The approximation can overshoot 1 in dense clusters: renormalise so that the weights of a
    # track and its no-report hypothesis sum to one.
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-300), 1.0)
    beta = beta * scale[track]
    beta0 = np.clip(1.0 - total * scale, 0.0, 1.0)
    return beta, beta0
