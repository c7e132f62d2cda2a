"""GOSPA: generalised optimal sub-pattern assignment metric with α = 2.

Rahmathullah, García-Fernández & Svensson, "Generalized optimal sub-pattern assignment
metric", FUSION 2017 (arXiv:1601.05585). For truths X, estimates Y, cut-off c and order p,
with α = 2 the metric is

    d = ( min over γ [ Σ_{(i,j)∈γ} d(xᵢ, yⱼ)^p + c^p/2 (|X| − |γ|) + c^p/2 (|Y| − |γ|) ] )^(1/p)

where only pairs closer than c may be assigned. It splits into a localisation part (assigned
pairs), a missed part (truths without an estimate) and a false part (estimates without a
truth). The components are reported in p-th-power units so that
``distance == (localisation + missed + false) ** (1 / p)``, the convention Stone Soup's
``GOSPAMetric`` also uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from bastion.tracking.association import gnn

# Above this many truth×estimate cells the assignment is solved on the sparse set of pairs
# closer than c (thousands of targets): the dense matrix would not fit in memory.
_DENSE_CELLS_MAX = 1_000_000

__all__ = ["GospaResult", "gospa"]


@dataclass(frozen=True, slots=True)
class GospaResult:
    """GOSPA at one time. Components are in p-th-power units (see module docstring)."""

    distance: float
    localisation: float
    missed: float
    false: float
    # For each truth row, the estimate row assigned to it (closer than c), or -1.
    truth_to_estimate: NDArray[np.int64]
    n_missed: int
    n_false: int


def gospa(truth: ArrayLike, estimates: ArrayLike, c: float, p: float = 1.0) -> GospaResult:
    """GOSPA (α = 2) between truth positions (n, d) and estimated positions (m, d).

    Distances are Euclidean over the given columns: pass positions only to get a
    position-only metric.
    """
    if not (c > 0 and np.isfinite(c)):
        raise ValueError("c must be finite and > 0")
    if not (p >= 1 and np.isfinite(p)):
        raise ValueError("p must be finite and >= 1")
    X = np.asarray(truth, dtype=np.float64)
    Y = np.asarray(estimates, dtype=np.float64)
    if X.size == 0:
        X = X.reshape(0, Y.shape[1] if Y.ndim == 2 else 1)
    if Y.size == 0:
        Y = Y.reshape(0, X.shape[1])
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError("truth and estimates must be (n, d) and (m, d) with the same d")
    n, m = X.shape[0], Y.shape[0]
    half = c**p / 2.0
    assign = np.full(n, -1, dtype=np.int64)
    if n and m and n * m <= _DENSE_CELLS_MAX:
        D = np.minimum(cdist(X, Y), c) ** p
        rows, cols = linear_sum_assignment(D)
        # A pair at the cut-off costs c^p, the same as leaving both unassigned: drop it.
        real = D[rows, cols] < c**p
        rows, cols = rows[real], cols[real]
        assign[rows] = cols
        loc = float(D[rows, cols].sum())
        k = rows.size
    elif n and m:
        # Only pairs closer than c can be assigned. Assigning (i, j) instead of leaving both
        # unassigned changes the sum by d^p - c^p: the same gain problem as track-to-report
        # association, solved per connected component.
        lists = cKDTree(Y).query_ball_point(X, c)
        lens = np.fromiter(map(len, lists), dtype=np.int64, count=n)
        ti = np.repeat(np.arange(n), lens)
        ej = np.concatenate([h for h in lists if h]).astype(np.int64) if lens.sum() else ti
        d = np.linalg.norm(X[ti] - Y[ej], axis=1) ** p
        est_truth = gnn(n, m, ti, ej, d, np.full(n, c**p))
        cols = np.flatnonzero(est_truth >= 0)
        rows = est_truth[cols]
        assign[rows] = cols
        loc = float((np.linalg.norm(X[rows] - Y[cols], axis=1) ** p).sum())
        k = rows.size
    else:
        loc, k = 0.0, 0
    missed = half * (n - k)
    false = half * (m - k)
    return GospaResult(
        distance=float((loc + missed + false) ** (1.0 / p)),
        localisation=loc,
        missed=float(missed),
        false=float(false),
        truth_to_estimate=assign,
        n_missed=n - k,
        n_false=m - k,
    )
