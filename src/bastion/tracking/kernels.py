"""Compiled per-track IMM kernels (Numba).

The filter's arithmetic is a few hundred multiply-adds per track on 6×6 matrices. Batched
NumPy runs it as dozens of calls over (k, M, 6, 6) stacks, each with its temporaries and a
generic small-matrix loop; profiling the simulator put ~1 µs of that per track and model per
prediction, a third of the whole run. Compiled loops over the same struct-of-arrays inputs do
the same maths in one pass per track with the sparsity of the motion models written out
(a coordinated turn touches 4 of the 6 state components), several times faster.

Each kernel works track by track, and a track's result depends only on its own inputs (no
reduction across tracks), so lock-step replications stay bit-identical to running alone.
``fastmath`` is off: results are plain IEEE arithmetic, reproducible across machines.

State is ``[x, y, z, vx, vy, vz]``; models are linear (CV or a coordinated turn at a fixed
rate), as described in ``models.py``; the maths is the standard IMM recursion described in
``filters.py``.

Association helpers live here too: connected components of the gated pairs
(``component_labels``) and the GNN pass that finds them and solves the trivial ones and the
oversized ones (``gnn_plan``), for the same reason: a handful of small arrays per sensor
batch, where the per-call cost of NumPy operations, not the arithmetic, was the cost.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = [
    "advance_rows", "combine_kernel", "component_labels", "extrapolate_rows", "gnn_plan",
    "predict_kernel", "update_kernel",
]

_LOG_2PI = math.log(2.0 * math.pi)


@nb.njit(cache=True, inline="always")
def _mode_transition(d, lam, V, Vinv, e, T):  # pragma: no cover - compiled
    # T = V diag(exp(lam d)) V⁻¹ of the constant generator, clipped and renormalised exactly
    # as models.MotionModels._mode_matrix does (e is scratch).
    m = lam.shape[0]
    for l in range(m):  # noqa: E741
        e[l] = math.exp(lam[l] * max(d, 0.0))
    for i in range(m):
        rs = 0.0
        for j in range(m):
            s = 0.0
            for l in range(m):  # noqa: E741
                s += V[i, l] * e[l] * Vinv[l, j]
            s = max(s, 0.0)
            T[i, j] = s
            rs += s
        for j in range(m):
            T[i, j] /= rs


@nb.njit(cache=True, inline="always")
def _predict_one(xm, Pm, mu, r, d, turn, q_h, q_v, lam, V, Vinv, T, w, xc, E, x0, P0, FP,
                 xo, Po, co):  # pragma: no cover - compiled
    # Track r of xm (n, M, 6), Pm (n, M, 6, 6), mu (n, M) over d seconds into xo (M, 6),
    # Po (M, 6, 6), co (M,); the rest are scratch. Nothing is allocated per track: an
    # allocation costs as much as a model's arithmetic.
    m = mu.shape[1]
    if m > 1:
        _mode_transition(d, lam, V, Vinv, co, T)  # co as scratch until set below
        for j in range(m):
            c = 0.0
            for i in range(m):
                c += mu[r, i] * T[i, j]
            co[j] = c
            cc = max(c, 1e-300)
            for i in range(m):
                w[i, j] = mu[r, i] * T[i, j] / cc
    else:
        co[0] = mu[r, 0]
        w[0, 0] = 1.0
    # Means relative to the first model's: with absolute positions (tens of kilometres, or
    # far more with replications side by side) the second moments would cancel.
    for i in range(m):
        for a in range(6):
            xc[i, a] = xm[r, i, a] - xm[r, 0, a]
    # second moments Pᵢ + xcᵢ xcᵢᵀ once per model (upper triangle), shared by every target mode
    for i in range(m):
        for a in range(6):
            for b in range(a, 6):
                E[i, a, b] = Pm[r, i, a, b] + xc[i, a] * xc[i, b]
    a3 = abs(d)
    q_pp, q_pv, q_vv = a3 * a3 * a3 / 3.0, a3 * a3 / 2.0, a3
    for j in range(m):
        # mixed moments for model j
        for a in range(6):
            s = 0.0
            for i in range(m):
                s += w[i, j] * xc[i, a]
            x0[a] = s
        for a in range(6):
            for b in range(a, 6):
                s = 0.0
                for i in range(m):
                    s += w[i, j] * E[i, a, b]
                s -= x0[a] * x0[b]
                P0[a, b] = s
                P0[b, a] = s
        for a in range(6):
            x0[a] += xm[r, 0, a]
        # transition of model j: x' = x + s_w vx - c_w vy, y' = y + c_w vx + s_w vy,
        # vx' = c vx - s vy, vy' = s vx + c vy; vertical CV (the CV limit is s_w = d)
        om = turn[j]
        if abs(om) < 1e-9:
            sn, cs, s_w, c_w = 0.0, 1.0, d, 0.0
        else:
            sn, cs = math.sin(om * d), math.cos(om * d)
            s_w, c_w = sn / om, (1.0 - cs) / om
        xo[j, 0] = x0[0] + s_w * x0[3] - c_w * x0[4]
        xo[j, 1] = x0[1] + c_w * x0[3] + s_w * x0[4]
        xo[j, 2] = x0[2] + d * x0[5]
        xo[j, 3] = cs * x0[3] - sn * x0[4]
        xo[j, 4] = sn * x0[3] + cs * x0[4]
        xo[j, 5] = x0[5]
        for b in range(6):  # F P
            FP[0, b] = P0[0, b] + s_w * P0[3, b] - c_w * P0[4, b]
            FP[1, b] = P0[1, b] + c_w * P0[3, b] + s_w * P0[4, b]
            FP[2, b] = P0[2, b] + d * P0[5, b]
            FP[3, b] = cs * P0[3, b] - sn * P0[4, b]
            FP[4, b] = sn * P0[3, b] + cs * P0[4, b]
            FP[5, b] = P0[5, b]
        for a in range(6):  # (F P) Fᵀ
            Po[j, a, 0] = FP[a, 0] + s_w * FP[a, 3] - c_w * FP[a, 4]
            Po[j, a, 1] = FP[a, 1] + c_w * FP[a, 3] + s_w * FP[a, 4]
            Po[j, a, 2] = FP[a, 2] + d * FP[a, 5]
            Po[j, a, 3] = cs * FP[a, 3] - sn * FP[a, 4]
            Po[j, a, 4] = sn * FP[a, 3] + cs * FP[a, 4]
            Po[j, a, 5] = FP[a, 5]
        # white-noise acceleration per axis: q [[d³/3, d²/2], [d²/2, d]]
        for ax in range(3):
            q = q_v if ax == 2 else q_h[j]
            Po[j, ax, ax] += q_pp * q
            Po[j, ax, ax + 3] += q_pv * q
            Po[j, ax + 3, ax + 3] += q_vv * q
        for a in range(6):  # mirror the upper triangle: exactly symmetric
            for b in range(a + 1, 6):
                Po[j, b, a] = Po[j, a, b]


@nb.njit(cache=True)
def predict_kernel(xm, Pm, mu, dt, turn, q_h, q_v, lam, V, Vinv, xo, Po, co):  # pragma: no cover
    """Mix and predict every model of every track over its own ``dt[r]``.

    In: ``xm`` (k, M, 6), ``Pm`` (k, M, 6, 6), ``mu`` (k, M), ``dt`` (k,), per-model ``turn``
    rates and horizontal noise densities ``q_h`` (M,), vertical density ``q_v``, the real
    eigen-decomposition of the mode generator. Out: ``xo``, ``Po``, predicted mode
    probabilities ``co``.
    """
    k, m = mu.shape
    T, w, xc = np.empty((m, m)), np.empty((m, m)), np.empty((m, 6))
    E, x0, P0, FP = np.empty((m, 6, 6)), np.empty(6), np.empty((6, 6)), np.empty((6, 6))
    for r in range(k):
        _predict_one(xm, Pm, mu, r, dt[r], turn, q_h, q_v, lam, V, Vinv, T, w, xc, E, x0, P0, FP,
                     xo[r], Po[r], co[r])


@nb.njit(cache=True, inline="always")
def _update_one(xp, Pp, c, z, R, i, K, nu, la, xo, Po, mo, r):  # pragma: no cover - compiled
    # One track: models xp (M, 6), Pp (M, 6, 6), c (M,), report z[i], R[i] into row r of the
    # tables xo (n, M, 6), Po (n, M, 6, 6), mo (n, M) (which must not alias the inputs);
    # returns the mixture log-likelihood. K, nu, la are scratch.
    m = c.shape[0]
    for j in range(m):
        # S = P[:3, :3] + R: symmetric 3×3, inverted by cofactors
        a_ = Pp[j, 0, 0] + R[i, 0, 0]
        b_ = Pp[j, 0, 1] + R[i, 0, 1]
        c_ = Pp[j, 0, 2] + R[i, 0, 2]
        d_ = Pp[j, 1, 1] + R[i, 1, 1]
        e_ = Pp[j, 1, 2] + R[i, 1, 2]
        f_ = Pp[j, 2, 2] + R[i, 2, 2]
        A = d_ * f_ - e_ * e_
        B = c_ * e_ - b_ * f_
        C = b_ * e_ - c_ * d_
        det = a_ * A + b_ * B + c_ * C
        g = 1.0 / det
        i00, i01, i02 = A * g, B * g, C * g
        i11 = (a_ * f_ - c_ * c_) * g
        i12 = (b_ * c_ - a_ * e_) * g
        i22 = (a_ * d_ - b_ * b_) * g
        for a in range(3):
            nu[a] = z[i, a] - xp[j, a]
        for a in range(6):  # K = P Hᵀ S⁻¹, P Hᵀ being P's first three columns
            p0, p1, p2 = Pp[j, a, 0], Pp[j, a, 1], Pp[j, a, 2]
            K[a, 0] = p0 * i00 + p1 * i01 + p2 * i02
            K[a, 1] = p0 * i01 + p1 * i11 + p2 * i12
            K[a, 2] = p0 * i02 + p1 * i12 + p2 * i22
        for a in range(6):
            xo[r, j, a] = xp[j, a] + K[a, 0] * nu[0] + K[a, 1] * nu[1] + K[a, 2] * nu[2]
        # P - K (H P), H P being P's first three rows; symmetrised so that round-off never
        # accumulates into an asymmetric covariance
        for a in range(6):
            for b in range(a, 6):
                u = Pp[j, a, b] - (K[a, 0] * Pp[j, 0, b] + K[a, 1] * Pp[j, 1, b]
                                   + K[a, 2] * Pp[j, 2, b])
                v = Pp[j, b, a] - (K[b, 0] * Pp[j, 0, a] + K[b, 1] * Pp[j, 1, a]
                                   + K[b, 2] * Pp[j, 2, a])
                s = 0.5 * (u + v)
                Po[r, j, a, b] = s
                Po[r, j, b, a] = s
        d2 = (nu[0] * (i00 * nu[0] + i01 * nu[1] + i02 * nu[2])
              + nu[1] * (i01 * nu[0] + i11 * nu[1] + i12 * nu[2])
              + nu[2] * (i02 * nu[0] + i12 * nu[1] + i22 * nu[2]))
        ll = -0.5 * (d2 + np.log(det) + 3.0 * _LOG_2PI)
        la[j] = np.log(max(c[j], 1e-300)) + ll
    amax = la[0]
    for j in range(1, m):
        amax = max(amax, la[j])
    s = 0.0
    for j in range(m):
        la[j] = math.exp(la[j] - amax)
        s += la[j]
    # Keep every mode reachable: a probability that underflows to 0 could never recover.
    tot = 0.0
    for j in range(m):
        v = max(la[j] / s, 1e-6)
        mo[r, j] = v
        tot += v
    for j in range(m):
        mo[r, j] /= tot
    return amax + math.log(s)


@nb.njit(cache=True)
def update_kernel(xp, Pp, c, z, R, xo, Po, mo, loglik):  # pragma: no cover - compiled
    """Kalman update of every model with one position report per track, then the mode
    probabilities from the per-model likelihoods.

    In: ``xp`` (k, M, 6), ``Pp`` (k, M, 6, 6), predicted mode probabilities ``c`` (k, M),
    ``z`` (k, 3), ``R`` (k, 3, 3). Out: ``xo``, ``Po``, ``mo`` and the mixture log-likelihood
    ``loglik`` (k,) of the report.
    """
    k, m = c.shape
    K, nu, la = np.empty((6, 3)), np.empty(3), np.empty(m)
    for r in range(k):
        loglik[r] = _update_one(xp[r], Pp[r], c[r], z, R, r, K, nu, la, xo, Po, mo, r)


@nb.njit(cache=True, inline="always")
def _combine_one(xm, Pm, mu, r, xc, x0, x, P):  # pragma: no cover - compiled
    # Row r's moment-matched x[r] (6,), P[r] (6, 6) from the tables xm, Pm, mu, means relative
    # to the first model's (see _predict_one); with one model, its mean and covariance exactly.
    m = mu.shape[1]
    for i in range(m):
        for a in range(6):
            xc[i, a] = xm[r, i, a] - xm[r, 0, a]
    for a in range(6):
        s = 0.0
        for i in range(m):
            s += mu[r, i] * xc[i, a]
        x0[a] = s
    for a in range(6):
        for b in range(a, 6):
            s = 0.0
            for i in range(m):
                s += mu[r, i] * (Pm[r, i, a, b] + xc[i, a] * xc[i, b])
            s -= x0[a] * x0[b]
            P[r, a, b] = s
            P[r, b, a] = s
    for a in range(6):
        x[r, a] = x0[a] + xm[r, 0, a]


@nb.njit(cache=True)
def combine_kernel(xm, Pm, mu, x, P):  # pragma: no cover - compiled
    """Moment-matched mean ``x`` (k, 6) and covariance ``P`` (k, 6, 6) of each track's modes."""
    k, m = mu.shape
    xc, x0 = np.empty((m, 6)), np.empty(6)
    for r in range(k):
        _combine_one(xm, Pm, mu, r, xc, x0, x, P)


@nb.njit(cache=True)
def advance_rows(xm, Pm, mu, x, P, rows, dt, z, R, update, turn, q_h, q_v, lam, V,
                 Vinv):  # pragma: no cover - compiled
    """In place on the track table: predict track ``rows[i]`` over ``dt[i]`` (a zero interval
    is no prediction, its exact limit), update it with report ``z[i]``, ``R[i]`` when
    ``update``, and write its combined ``x``, ``P``.

    ``xm`` (n, M, 6), ``Pm`` (n, M, 6, 6), ``mu`` (n, M), ``x`` (n, 6), ``P`` (n, 6, 6) are the
    table's (strided) views. One pass per track, no temporaries per call: this is what the
    tracker runs for every update and every propagation.
    """
    m = mu.shape[1]
    T, w, xc = np.empty((m, m)), np.empty((m, m)), np.empty((m, 6))
    E, x0, P0, FP = np.empty((m, 6, 6)), np.empty(6), np.empty((6, 6)), np.empty((6, 6))
    xs, Ps, cs = np.empty((m, 6)), np.empty((m, 6, 6)), np.empty(m)
    K, nu, la = np.empty((6, 3)), np.empty(3), np.empty(m)
    for i in range(rows.shape[0]):
        r = rows[i]
        if dt[i] != 0.0:
            _predict_one(xm, Pm, mu, r, dt[i], turn, q_h, q_v, lam, V, Vinv, T, w, xc, E, x0,
                         P0, FP, xs, Ps, cs)
        else:
            for j in range(m):
                cs[j] = mu[r, j]
                for a in range(6):
                    xs[j, a] = xm[r, j, a]
                    for b in range(6):
                        Ps[j, a, b] = Pm[r, j, a, b]
        if update:
            _update_one(xs, Ps, cs, z, R, i, K, nu, la, xm, Pm, mu, r)
        else:
            for j in range(m):
                mu[r, j] = cs[j]
                for a in range(6):
                    xm[r, j, a] = xs[j, a]
                    for b in range(6):
                        Pm[r, j, a, b] = Ps[j, a, b]
        _combine_one(xm, Pm, mu, r, xc, x0, x, P)


@nb.njit(cache=True)
def extrapolate_rows(x, P, mu, t, t_to, q_h, q_v, xo, Po, to):  # pragma: no cover - compiled
    """The combined states ``x`` (n, 6), ``P`` (n, 6, 6) valid at ``t`` (n,), extrapolated to
    ``t_to`` into ``xo``, ``Po``, ``to``: constant velocity, white acceleration of the
    mode-weighted noise density. Rows already at or past ``t_to`` are copied.

    This is the tracker's output between updates, not a filter step: the per-model states
    stay where their last report left them and the IMM predicts them once, to the next
    report, which avoids a second mixing and prediction of every track each step.
    """
    n, m = mu.shape
    FP = np.empty((6, 6))
    for r in range(n):
        d = t_to - t[r]
        if not d > 0.0:
            for a in range(6):
                xo[r, a] = x[r, a]
                for b in range(6):
                    Po[r, a, b] = P[r, a, b]
            to[r] = t[r]
            continue
        qh = 0.0
        for i in range(m):
            qh += mu[r, i] * q_h[i]
        for a in range(3):
            xo[r, a] = x[r, a] + d * x[r, a + 3]
            xo[r, a + 3] = x[r, a + 3]
        for b in range(6):  # F P with F = [[I, d I], [0, I]]
            for a in range(3):
                FP[a, b] = P[r, a, b] + d * P[r, a + 3, b]
                FP[a + 3, b] = P[r, a + 3, b]
        for a in range(6):  # (F P) Fᵀ
            for b in range(3):
                Po[r, a, b] = FP[a, b] + d * FP[a, b + 3]
                Po[r, a, b + 3] = FP[a, b + 3]
        for ax in range(3):
            q = q_v if ax == 2 else qh
            Po[r, ax, ax] += d * d * d / 3.0 * q
            Po[r, ax, ax + 3] += d * d / 2.0 * q
            Po[r, ax + 3, ax] += d * d / 2.0 * q
            Po[r, ax + 3, ax + 3] += d * q
        for a in range(6):  # exactly symmetric
            for b in range(a + 1, 6):
                v = 0.5 * (Po[r, a, b] + Po[r, b, a])
                Po[r, a, b] = v
                Po[r, b, a] = v
        to[r] = t_to


@nb.njit(cache=True)
def _root(parent, i):  # pragma: no cover - compiled
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@nb.njit(cache=True)
def _union_find_labels(a, b, n):  # pragma: no cover - compiled
    parent = np.arange(n)
    for e in range(a.shape[0]):
        ra, rb = _root(parent, a[e]), _root(parent, b[e])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    label = np.empty(n, np.int64)
    nxt = 0
    for i in range(n):  # roots are each component's smallest node: labels in order of it
        r = _root(parent, i)
        if r == i:
            label[i] = nxt
            nxt += 1
        else:
            label[i] = label[r]
    return label


def component_labels(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes of the undirected graph with edges
    ``a[e]``–``b[e]``: labels 0, 1, ... in order of each component's smallest node.

    Union-find in one compiled pass: for the tracker's gated problems (thousands of pairs, a
    call per sensor batch) building a sparse matrix for ``scipy.sparse.csgraph`` cost more
    than the search itself.
    """
    return _union_find_labels(np.ascontiguousarray(a, dtype=np.int64),
                              np.ascontiguousarray(b, dtype=np.int64), int(n))


@nb.njit(cache=True)
def _gnn_plan(n, m, track, report, cost, miss_cost, dense_cells_max,
              cluster_cells_max):  # pragma: no cover - compiled
    # See gnn_plan. Pairs with a gain (cost below the track's miss cost), in input order.
    k = track.shape[0]
    out = np.full(m, -1, np.int64)
    no_fb = np.zeros(2, np.int64)
    pt = np.empty(k, np.int64)
    pr = np.empty(k, np.int64)
    pg = np.empty(k)
    c = 0
    for p in range(k):
        g = cost[p] - miss_cost[track[p]]
        if g < 0.0:
            pt[c] = track[p]
            pr[c] = report[p]
            pg[c] = g
            c += 1
    no_i = np.empty(0, np.int64)
    if c == 0:
        return out, np.empty(0), np.empty((0, 2), np.int64), no_i, no_i, no_fb
    if n * m <= dense_cells_max:  # one dense problem over every track and report
        G = np.zeros(n * m)
        for p in range(c):
            G[pt[p] * m + pr[p]] = pg[p]
        shape = np.empty((1, 2), np.int64)
        shape[0, 0], shape[0, 1] = n, m
        return out, G, shape, np.arange(n), np.arange(m), no_fb
    # Tracks and reports with a pair, in increasing order (np.unique), and their ranks.
    t_loc = np.zeros(n, np.int64)
    r_loc = np.zeros(m, np.int64)
    for p in range(c):
        t_loc[pt[p]] = 1
        r_loc[pr[p]] = 1
    ut = np.empty(min(n, c), np.int64)
    ur = np.empty(min(m, c), np.int64)
    nt = 0
    for i in range(n):
        if t_loc[i]:
            t_loc[i] = nt
            ut[nt] = i
            nt += 1
    nr = 0
    for j in range(m):
        if r_loc[j]:
            r_loc[j] = nr
            ur[nr] = j
            nr += 1
    if nt * nr <= dense_cells_max:  # one dense problem over those
        G = np.zeros(nt * nr)
        for p in range(c):
            G[t_loc[pt[p]] * nr + r_loc[pr[p]]] = pg[p]
        shape = np.empty((1, 2), np.int64)
        shape[0, 0], shape[0, 1] = nt, nr
        return out, G, shape, ut[:nt].copy(), ur[:nr].copy(), no_fb

    # Connected components: tracks are nodes 0..nt-1, reports nt..nt+nr-1.
    nn = nt + nr
    parent = np.arange(nn)
    for p in range(c):
        ra, rb = _root(parent, t_loc[pt[p]]), _root(parent, nt + r_loc[pr[p]])
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    root = np.empty(nn, np.int64)
    n_t = np.zeros(nn, np.int64)  # tracks and reports per component, indexed by its root
    n_r = np.zeros(nn, np.int64)
    for v in range(nn):
        root[v] = _root(parent, v)
        if v < nt:
            n_t[root[v]] += 1
        else:
            n_r[root[v]] += 1
    # One track: it takes its best report. One report: it goes to its best track. Best is
    # the lowest gain, the first such pair on a tie (as a stable sort by gain would pick).
    best = np.full(nn, -1, np.int64)
    for p in range(c):
        q = root[t_loc[pt[p]]]
        if (n_t[q] == 1 or n_r[q] == 1) and (best[q] < 0 or pg[p] < pg[best[q]]):
            best[q] = p
    for q in range(nn):
        if best[q] >= 0:
            out[pr[best[q]]] = pt[best[q]]
    # Contested components above ``cluster_cells_max`` cells: greedy by gain within the gate
    # (pairs by increasing gain, ties to the first pair; a pair is taken when its track and
    # its report are both still free), O(pairs log pairs) instead of a dense matrix.
    fb = np.zeros(2, np.int64)  # components solved so, and their tracks
    big = np.zeros(nn, np.bool_)
    for q in range(nn):
        if root[q] == q and n_t[q] > 1 and n_r[q] > 1 and n_t[q] * n_r[q] > cluster_cells_max:
            big[q] = True
            fb[0] += 1
            fb[1] += n_t[q]
    if fb[0]:
        sel = np.empty(c, np.int64)
        ns = 0
        for p in range(c):
            if big[root[t_loc[pt[p]]]]:
                sel[ns] = p
                ns += 1
        sel = sel[:ns]
        order = np.argsort(pg[sel], kind="mergesort")
        t_free = np.ones(n, np.bool_)
        r_free = np.ones(m, np.bool_)
        for u in range(ns):
            p = sel[order[u]]
            if t_free[pt[p]] and r_free[pr[p]]:
                t_free[pt[p]] = False
                r_free[pr[p]] = False
                out[pr[p]] = pt[p]
    # The other contested components: one dense gain matrix each, tracks and reports in
    # increasing order, for the caller's linear_sum_assignment.
    hard = np.full(nn, -1, np.int64)
    n_hard = 0
    for q in range(nn):
        if root[q] == q and n_t[q] > 1 and n_r[q] > 1 and not big[q]:
            hard[q] = n_hard
            n_hard += 1
    shape = np.empty((n_hard, 2), np.int64)
    for q in range(nn):
        if hard[q] >= 0:
            shape[hard[q], 0], shape[hard[q], 1] = n_t[q], n_r[q]
    g_off = np.zeros(n_hard + 1, np.int64)
    t_off = np.zeros(n_hard + 1, np.int64)
    r_off = np.zeros(n_hard + 1, np.int64)
    for h in range(n_hard):
        g_off[h + 1] = g_off[h] + shape[h, 0] * shape[h, 1]
        t_off[h + 1] = t_off[h] + shape[h, 0]
        r_off[h + 1] = r_off[h] + shape[h, 1]
    rows = np.empty(t_off[n_hard], np.int64)
    cols = np.empty(r_off[n_hard], np.int64)
    pos = np.empty(nn, np.int64)  # each node's row or column in its component's matrix
    fill = np.zeros(n_hard, np.int64)
    for v in range(nt):
        h = hard[root[v]]
        if h >= 0:
            pos[v] = fill[h]
            rows[t_off[h] + fill[h]] = ut[v]
            fill[h] += 1
    fill[:] = 0
    for v in range(nt, nn):
        h = hard[root[v]]
        if h >= 0:
            pos[v] = fill[h]
            cols[r_off[h] + fill[h]] = ur[v - nt]
            fill[h] += 1
    G = np.zeros(g_off[n_hard])
    for p in range(c):
        a, b = t_loc[pt[p]], nt + r_loc[pr[p]]
        h = hard[root[a]]
        if h >= 0:
            G[g_off[h] + pos[a] * shape[h, 1] + pos[b]] = pg[p]
    return out, G, shape, rows, cols, fb


def gnn_plan(
    n: int, m: int, track: np.ndarray, report: np.ndarray, cost: np.ndarray,
    miss_cost: np.ndarray, dense_cells_max: int, cluster_cells_max: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Global-nearest-neighbour assignment up to its contested clusters, in one compiled pass.

    Of the pairs ``track``, ``report`` with ``cost`` below their track's ``miss_cost``, gains
    ``cost - miss_cost``: returns ``out`` (m,), the track of each report assigned so far (or
    -1), and the assignment problems left, as dense gain matrices (zero: no pair) flattened
    one after the other into ``G``, with ``shape`` (k, 2) and the track ``rows`` and report
    ``cols`` of each, concatenated, and ``fallback`` (2,): the number of components solved
    greedily (below) and their tracks. When ``n * m`` or the number of tracks with a pair
    times that of reports with one is at most ``dense_cells_max``, the one problem is that
    whole matrix and ``out`` is all -1. Otherwise each connected component with one track (it
    takes its best report) or one report (it goes to its best track) is solved here, ties to
    the first pair; each other component of more than ``cluster_cells_max`` cells (tracks ×
    reports) is solved here greedily by gain (pairs by increasing gain, ties to the first; a
    pair is taken when its track and its report are both free); each remaining one is one
    problem, rows and columns in increasing order: the same matrices that
    ``association._gnn_numpy`` builds, so solving them with the same ``linear_sum_assignment``
    gives the same answer, ties included.
    """
    return _gnn_plan(int(n), int(m), np.ascontiguousarray(track, dtype=np.int64),
                     np.ascontiguousarray(report, dtype=np.int64),
                     np.ascontiguousarray(cost, dtype=np.float64),
                     np.ascontiguousarray(miss_cost, dtype=np.float64), int(dense_cells_max),
                     int(cluster_cells_max))
