"""Compiled passes of the analysis driver over the world's rows (the clock's quiet bound,
pending drones, distances). Each does what the array form it replaced did, in the same
order of operations, so results are bit-identical (``tests/sim/test_engine_kernels.py``)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from bastion.core.numerics import np_minimum as _minimum
from bastion.sim.world import Kind, Mode

__all__ = ["distances", "pending_drones", "quiet_bound"]

# Mode and Kind codes for the compiled passes (tests/sim/test_engine_kernels.py checks them)
_WAITING, _DOWN, _GONE = Mode.WAITING, Mode.DOWN, Mode.GONE
_BIRD, _OWN = Kind.BIRD, Kind.OWN


@nb.njit(cache=True, error_model="numpy")
def quiet_bound(t, inb, busy, mode, kind, pos, t_start, row_block, nd, site_xy, reach_m,
                 max_ground_speed, duration):  # pragma: no cover - compiled
    # the engine's quiet_until for the replications in inb (busy: those with an open engagement,
    # updated in place). Same operations as the array form: the horizontal distance to the
    # nearest site centre, sqrt(dx² + dy²); bounds lowered with np.minimum, drones first,
    # then launches and departures, each in row order.
    n_b = inb.shape[0]
    bound = np.full(n_b, duration)
    for k in range(nd):
        b = row_block[k]
        m = mode[k]
        if not inb[b] or m == _WAITING or m == _DOWN or m == _GONE:
            continue
        dmin = 0.0
        for s in range(site_xy.shape[0]):
            dx = pos[k, 0] - site_xy[s, 0]
            dy = pos[k, 1] - site_xy[s, 1]
            d = math.sqrt(dx * dx + dy * dy)
            dmin = d if s == 0 else _minimum(dmin, d)
        gap = dmin - reach_m[b]
        if gap <= 0:
            busy[b] = True
        bound[b] = _minimum(bound[b], t + gap / max_ground_speed[b])
    for k in range(mode.shape[0]):
        b = row_block[k]
        if inb[b] and mode[k] == _WAITING and kind[k] != _BIRD:
            bound[b] = _minimum(bound[b], t_start[k])
    for k in range(mode.shape[0]):
        b = row_block[k]
        m = mode[k]
        if (inb[b] and kind[k] == _OWN and m != _WAITING and m != _DOWN and m != _GONE):
            busy[b] = True
    out = np.empty(n_b)
    for b in range(n_b):
        # busy: t; otherwise np.maximum(t, bound), which keeps the bound on ties (and NaN)
        out[b] = t if busy[b] or t > bound[b] else bound[b]
    return out


@nb.njit(cache=True, error_model="numpy")
def pending_drones(mode, row_block, nd, n_b):  # pragma: no cover - compiled
    # per replication: some drone still waiting to launch or flying
    out = np.zeros(n_b, np.bool_)
    for k in range(nd):
        m = mode[k]
        if m != _DOWN and m != _GONE:
            out[row_block[k]] = True
    return out


@nb.njit(cache=True, error_model="numpy")
def distances(pos, rows, p):  # pragma: no cover - compiled
    # |pos[rows] − p| in 3-d, sqrt(dx² + dy² + dz²) as np.linalg.norm sums it
    out = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        k = rows[i]
        dx = pos[k, 0] - p[0]
        dy = pos[k, 1] - p[1]
        dz = pos[k, 2] - p[2]
        out[i] = math.sqrt(dx * dx + dy * dy + dz * dz)
    return out
