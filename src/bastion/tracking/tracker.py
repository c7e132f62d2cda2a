"""The tracker: IMM Kalman filters, gated GNN (or JPDA) association and an M-of-N life cycle,
all on struct-of-arrays track storage with no per-track Python loop."""

from __future__ import annotations

import time

import numba as nb
import numpy as np
from numpy.typing import ArrayLike, NDArray

from .association import gnn, jpda_weights
from .config import TrackerConfig
from .filters import advance_in_place, combine, imm_predict, imm_update_weighted
from .gating import GatedPairs, gate
from .kernels import extrapolate_rows
from .lifecycle import advance, duplicates
from .linalg import det_sym3, inv_det_sym3
from .models import MotionModels
from .tracks import Tracks, TrackStatus
from .validate import check_reports

__all__ = ["Tracker"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@nb.njit(cache=True)
def _squeeze_rows(a: F64, keep: NDArray[np.bool_], i0: int) -> None:  # pragma: no cover
    """Move the rows ``r >= i0`` of ``a`` with ``keep[r]`` down over the deleted ones, in order."""
    w = i0
    for r in range(i0, keep.shape[0]):
        if keep[r]:
            if w != r:
                a[w] = a[r]
            w += 1


class _Store:
    """Every live track, packed row-wise into one float64 table plus ids and evidence.

    Packing matters for small problems: creating and deleting tracks every scan (clutter) then
    costs three array operations instead of one per field. The table has spare rows: new
    tracks are written into them and deleted ones are squeezed out in place, so neither copies
    the whole table (with a thousand tracks of ~2 KiB each, those copies were most of the
    cost of starting and ending tracks). ``f``, ``id`` and ``ev`` are views of the live rows;
    the named fields are views into ``f``, so ``store.xm[rows] = ...`` writes through.
    """

    __slots__ = ("_ev", "_f", "_id", "_m", "n")

    # Scalar columns after the filter block, in order.
    _SCALARS = ("t", "t_first", "t_last", "t_conf", "n_upd", "misses", "age", "history",
                "status", "hit", "seen_by", "t_out")  # fmt: skip

    def __init__(self, n_models: int, f: F64, ids: I64, ev: F64):
        self._m = n_models
        self._f, self._id, self._ev = f, ids, ev
        self.n = int(ids.shape[0])

    @classmethod
    def empty(cls, n_models: int, k_evidence: int) -> _Store:
        return cls(n_models, np.empty((0, cls.width(n_models))), np.empty(0, np.int64),
                   np.empty((0, k_evidence)))

    @staticmethod
    def width(m: int) -> int:
        return m * 6 + m * 36 + m + 6 + 36 + len(_Store._SCALARS) + 6 + 36

    def __len__(self) -> int:
        return self.n

    @property
    def f(self) -> F64:
        return self._f[: self.n]

    @property
    def id(self) -> I64:
        return self._id[: self.n]

    @property
    def ev(self) -> F64:
        return self._ev[: self.n]

    @ev.setter
    def ev(self, value: F64) -> None:
        self._ev = np.zeros((self._f.shape[0], value.shape[1]))
        self._ev[: self.n] = value

    def _col(self, start: int, stop: int) -> F64:
        return self._f[: self.n, start:stop]

    # filter block -------------------------------------------------------------
    @property
    def xm(self) -> F64:  # (n, M, 6) per-model means
        m = self._m
        return self._col(0, 6 * m).reshape(-1, m, 6)

    @property
    def Pm(self) -> F64:  # (n, M, 6, 6) per-model covariances
        m = self._m
        return self._col(6 * m, 42 * m).reshape(-1, m, 6, 6)

    @property
    def mu(self) -> F64:  # (n, M) mode probabilities
        m = self._m
        return self._col(42 * m, 43 * m)

    @property
    def x(self) -> F64:  # (n, 6) combined mean
        o = 43 * self._m
        return self._col(o, o + 6)

    @property
    def P(self) -> F64:  # (n, 6, 6) combined covariance
        o = 43 * self._m + 6
        return self._col(o, o + 36).reshape(-1, 6, 6)

    # output block: the combined state extrapolated to the last step's time ("t_out")
    @property
    def x_out(self) -> F64:  # (n, 6)
        o = 43 * self._m + 42 + len(self._SCALARS)
        return self._col(o, o + 6)

    @property
    def P_out(self) -> F64:  # (n, 6, 6)
        o = 43 * self._m + 48 + len(self._SCALARS)
        return self._col(o, o + 36).reshape(-1, 6, 6)

    def scalar(self, name: str) -> F64:
        o = 43 * self._m + 42 + self._SCALARS.index(name)
        return self._f[: self.n, o]

    def append(self, ids: I64, ev: F64) -> int:
        """Add ``ids.size`` rows, zero-filled, with these ids and evidence rows; returns the
        first new row. Views taken before may be stale afterwards (the buffer can move)."""
        n0, k = self.n, ids.shape[0]
        need = n0 + k
        if need > self._f.shape[0]:
            # Geometric growth: amortised O(1) per track started.
            cap = max(need, 2 * self._f.shape[0], 64)
            f = np.empty((cap, self._f.shape[1]))
            f[:n0] = self._f[:n0]
            i = np.empty(cap, np.int64)
            i[:n0] = self._id[:n0]
            e = np.empty((cap, self._ev.shape[1]))
            e[:n0] = self._ev[:n0]
            self._f, self._id, self._ev = f, i, e
        self._f[n0:need] = 0.0
        self._id[n0:need] = ids
        self._ev[n0:need] = ev
        self.n = need
        return n0

    def keep(self, keep: NDArray[np.bool_]) -> None:
        """Delete the rows where ``keep`` (n,) is False, keeping the others' order."""
        idx = np.flatnonzero(keep)
        if idx.size == self.n:
            return
        # Rows before the first deleted one stay put: only the tail moves, row by row in
        # place (a gather into a temporary would copy it twice).
        i0 = int(np.argmin(keep))
        kp = np.ascontiguousarray(keep, dtype=np.bool_)
        for a in (self._f, self._id.reshape(-1, 1), self._ev):
            _squeeze_rows(a, kp, i0)
        self.n = idx.size


_MAX_SENSORS = 52  # sensor bits kept per track in a float64 column (exact below 2**53)


# Column offsets of the scalar fields, resolved once per model count.
def _scalar_offsets(m: int) -> dict[str, int]:
    return {name: 43 * m + 42 + i for i, name in enumerate(_Store._SCALARS)}


class Tracker:
    """Multi-target tracker for ENU position reports.

    ``Tracker()`` uses defaults tuned for small drones; ``Tracker(config)`` to tune. Track ids
    start at ``id_base``; by default that is derived from the wall clock (milliseconds since
    the epoch shifted left by 20 bits), so ids stay unique across restarts of a service as long
    as one run starts fewer than 2²⁰ tracks per millisecond between the two starts.
    Pass ``id_base=0`` for reproducible ids 0, 1, 2, ...
    """

    def __init__(self, config: TrackerConfig | None = None, *, id_base: int | None = None):
        self.config = config if config is not None else TrackerConfig()
        self._models = MotionModels.from_config(self.config)
        self._q_max = float(
            max(self._models.q_horizontal_m2_s3.max(), self._models.q_vertical_m2_s3)
        )
        if id_base is None:
            id_base = (time.time_ns() // 1_000_000) << 20
        if not 0 <= int(id_base) < 2**62:
            raise ValueError("id_base must be in [0, 2**62)")
        self._next_id = int(id_base)
        self._clock = -np.inf
        n_mod = self._models.n_models
        self._s = _Store.empty(n_mod, 0)
        self._o = _scalar_offsets(n_mod)
        self._mu0 = np.asarray(
            self.config.initial_mode_probabilities if self.config.imm else (1.0,), dtype=float
        )
        self.last_association: I64 = np.empty(0, np.int64)
        self._snapshot: Tracks | None = None
        self.stats: dict[str, int] = {
            "steps": 0,
            "steps_ignored": 0,
            "reports_in": 0,
            "reports_used": 0,
            "oosm_rejected": 0,
            "tracks_started": 0,
            "tracks_confirmed": 0,
            "tracks_deleted": 0,
            "tracks_merged": 0,
            "tracks_dropped": 0,
            # GNN clusters too large to solve exactly, solved greedily (association.py), and
            # the tracks in them
            "gnn_fallback": 0,
            "gnn_fallback_tracks": 0,
        }

    # ------------------------------------------------------------------ public API
    @property
    def clock_s(self) -> float:
        """Latest step time processed (-inf before the first step)."""
        return float(self._clock)

    @property
    def tracks(self) -> Tracks:
        """Current tracks (tentative, confirmed and coasting): a read-only snapshot of the
        internal state, shared by every caller until the state next changes."""
        if self._snapshot is None:
            self._snapshot = self._make_snapshot()
        return self._snapshot

    def _make_snapshot(self) -> Tracks:
        s = self._s
        m = self._models.n_models
        # Copy only what the snapshot shows: the mode probabilities and the scalars with the
        # output block after them (a fifth of each row; the filter block stays private).
        mu = s.mu.copy()
        o0 = 43 * m + 42
        tail = s.f[:, o0:].copy()
        xo = len(_Store._SCALARS)  # the output block within the tail (see _extrapolate)

        def col(name: str) -> F64:
            return tail[:, self._o[name] - o0]

        out = Tracks(
            id=s.id.copy(),
            state=tail[:, xo : xo + 6],
            covariance=tail[:, xo + 6 : xo + 42].reshape(-1, 6, 6),
            status=col("status").astype(np.int8),
            t_s=col("t_out"),
            t_first_s=col("t_first"),
            t_last_s=col("t_last"),
            t_confirmed_s=col("t_conf"),
            n_updates=col("n_upd").astype(np.int64),
            evidence=s.ev.copy(),
            mode_probabilities=mu,
        )
        # Read-only, so that one caller cannot change what the next one sees.
        for a in (tail, mu, out.id, out.status, out.n_updates, out.evidence):
            a.flags.writeable = False
        return out

    def step(
        self,
        t_s: ArrayLike,
        z: ArrayLike,
        R: ArrayLike,
        *,
        sensor: ArrayLike | None = None,
        evidence: ArrayLike | None = None,
        until_s: float | None = None,
        scanned: ArrayLike | None = None,
    ) -> Tracks:
        """Process one scan of reports and return the tracks after it.

        ``t_s``: scalar or (m,) report times (s); ``z``: (m, 3) ENU positions (m); ``R``:
        (3, 3) or (m, 3, 3) covariances (m²); ``sensor``: optional (m,) sensor index — each
        sensor's reports are associated as a separate batch, in time order, so several sensors
        can update one track in the same step; ``evidence``: optional (m, K) log-likelihood rows
        summed into the tracks the reports update or start; ``until_s``: optional time up to
        which the caller has now delivered every report (its scan end): the clock moves to it
        and every track older than it is predicted to it, while a track updated by a later
        report of this step stays at that report's time (default: the latest report time). A
        scan-synchronous caller passes its scan end, so a track's prediction never depends on
        which other reports happened to arrive in the step, and a slower sensor whose scan
        started before the last scan end can still deliver it;
        ``scanned``: optional sensor indices (0..51) that completed a scan in this step,
        reports or not. With it, a track not updated in the step has missed it only if one of
        the sensors that have updated it before scanned: sensors with different scan periods
        then share one tracker without the slower one's tracks collecting misses in the
        faster one's steps. Default: every track not updated misses the step.

        Reports older than the tracker clock are out of sequence: rejected, counted in
        ``stats['oosm_rejected']`` and marked -1 in ``last_association``. Invalid input raises
        ``ValueError`` before anything changes.
        """
        t, zz, RR, sensor_arr, ev, scalar_t = check_reports(t_s, z, R, sensor, evidence)
        self._snapshot = None
        until = float("nan") if until_s is None else float(until_s)
        if until_s is not None and not np.isfinite(until):
            raise ValueError("until_s is NaN or inf")
        scanned_bits = None
        if scanned is not None:
            sc_arr = np.asarray(scanned).ravel()
            if sc_arr.size and (sc_arr.dtype.kind not in "iu" or sc_arr.min() < 0
                                or sc_arr.max() >= _MAX_SENSORS):
                raise ValueError(f"scanned must hold sensor indices 0..{_MAX_SENSORS - 1}")
            if sensor_arr is not None and sensor_arr.size and sensor_arr.max() >= _MAX_SENSORS:
                raise ValueError(f"with scanned, sensor indices must be below {_MAX_SENSORS}")
            scanned_bits = int(np.bitwise_or.reduce(np.left_shift(1, sc_arr.astype(np.int64)))
                               ) if sc_arr.size else 0
        s = self._s
        if ev is not None and ev.shape[1] != s.ev.shape[1]:
            if s.ev.shape[1] and len(s):
                raise ValueError(
                    f"evidence has {ev.shape[1]} columns, the tracks carry {s.ev.shape[1]}"
                )
            s.ev = np.zeros((len(s), ev.shape[1]))
        m = zz.shape[0]
        assoc = np.full(m, -1, dtype=np.int64)
        tol = self.config.oosm_tolerance_s
        late = t < self._clock - tol
        n_late = int(np.count_nonzero(late))
        self.stats["reports_in"] += m
        self.stats["oosm_rejected"] += n_late

        step_time: float | None = None
        if n_late < m:
            step_time = float(t.max()) if n_late == 0 else float(t[~late].max())
        if scalar_t is not None and scalar_t >= self._clock - tol:
            step_time = scalar_t if step_time is None else max(step_time, scalar_t)
        if until_s is not None and until >= self._clock - tol:
            step_time = until

        s.f[:, self._o["hit"]] = 0.0
        if n_late < m:
            valid = np.flatnonzero(~late) if n_late else np.arange(m)
            for batch in self._batches(valid, t, sensor_arr):
                self._process_batch(batch, t, zz, RR, ev, assoc)
            self._mark_seen(assoc, sensor_arr)

        if step_time is None:
            self.stats["steps_ignored"] += 1
        else:
            self._extrapolate(step_time)
            self._life_cycle(scanned_bits)
            self._clock = max(self._clock, step_time)
            self.stats["steps"] += 1
        self.last_association = assoc
        return self.tracks

    def predict(self, t_s: float) -> tuple[F64, F64]:
        """States (n, 6) and covariances (n, 6, 6) of the current tracks predicted to ``t_s``,
        aligned with ``tracks`` rows. The tracker state is not changed."""
        t_s = float(t_s)
        if not np.isfinite(t_s):
            raise ValueError("t_s is NaN or inf")
        s = self._s
        if len(s) == 0:
            return np.empty((0, 6)), np.empty((0, 6, 6))
        dt = t_s - s.scalar("t")
        xp, Pp, c = imm_predict(s.xm, s.Pm, s.mu, dt, self._models)
        x, P = combine(xp, Pp, c)
        return np.array(x), np.array(P)

    def state_at(self, track_id: int, t_s: float) -> tuple[F64, F64] | None:
        """One track's state (1, 6) and covariance (1, 6, 6) carried from its last estimate to
        ``t_s`` at constant velocity (no process noise: a fire-control look a moment ahead,
        not a filter prediction); None when no track has that id. The tracker is unchanged."""
        tracks = self.tracks
        rows = np.flatnonzero(tracks.id == track_id)
        if rows.size == 0:
            return None
        r = int(rows[0])
        F = np.eye(6)
        F[:3, 3:] = (float(t_s) - float(tracks.t_s[r])) * np.eye(3)
        return tracks.state[r:r + 1] @ F.T, (F @ tracks.covariance[r] @ F.T)[None]

    def drop(self, ids: ArrayLike) -> None:
        """Remove the tracks with these ids (unknown ids are ignored)."""
        ids_arr = np.asarray(ids, dtype=np.int64).ravel()
        gone = np.isin(self._s.id, ids_arr)
        if gone.any():
            self._snapshot = None
            self.stats["tracks_dropped"] += int(gone.sum())
            self._s.keep(~gone)

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _batches(valid: I64, t: F64, sensor: I64 | None) -> list[I64]:
        if sensor is None:
            return [valid]
        s = sensor[valid]
        # Sensor batches are processed in increasing sensor index (give the sensor that reports
        # first in a scan the lower index). A fixed order, rather than one taken from the
        # reports, keeps each track's result independent of reports that never reach it.
        return [valid[s == k] for k in np.unique(s)]

    def _extrapolate(self, t_to: float) -> None:
        """Bring every track's output state (``x_out``, ``P_out``) to ``t_to``; the filter
        state stays at its last report's time."""
        s = self._s
        if len(s) == 0:
            return
        _, q_h, q_v, *_ = self._models.kernel_args
        extrapolate_rows(s.x, s.P, s.mu, s.f[:, self._o["t"]], float(t_to), q_h, q_v,
                         s.x_out, s.P_out, s.f[:, self._o["t_out"]])

    def _process_batch(
        self, idx: I64, t: F64, z: F64, R: F64, ev: F64 | None, assoc: I64
    ) -> None:
        cfg = self.config
        tb, zb, Rb = t[idx], z[idx], R[idx]
        s = self._s
        n, mb = len(s), idx.size
        report_track = np.full(mb, -1, dtype=np.int64)
        gated_confirmed = np.zeros(mb, dtype=bool)
        if n:
            # Gating shifts each pair to its report's time and each update predicts its track
            # exactly from the track's own time to its report's: nothing here depends on the
            # other reports of the batch.
            pairs = gate(s.x, s.P, s.f[:, self._o["t"]], zb, Rb, tb, cfg.gate_chi2,
                         self._q_max, cfg.dense_pairs_max)
            if pairs.track.size:
                status = s.f[pairs.track, self._o["status"]]
                gated_confirmed[pairs.report[status != TrackStatus.TENTATIVE]] = True
                if cfg.association == "gnn":
                    report_track = self._gnn(pairs, Rb)
                    self._update_gnn(report_track, idx, tb, zb, Rb, ev, assoc)
                else:
                    report_track = self._update_jpda(pairs, idx, tb, zb, Rb, ev, assoc)
        new = np.flatnonzero((report_track == -1) & ~gated_confirmed)
        if new.size:
            self._initiate(idx[new], tb[new], zb[new], Rb[new], ev, assoc)

    def _gnn(self, pairs: GatedPairs, Rb: F64) -> I64:
        s = self._s
        n, mb = len(s), Rb.shape[0]
        # Cost = negative log-likelihood (up to a constant): d² + ln|S|. Leaving a track without
        # a report costs the gate plus its typical ln|S|.
        # (R: the mean of the track's own gated reports, so no other report changes it)
        # Only gated tracks need it; ``gate`` returns pairs sorted by track, so each track's
        # reports are one run and their sum a segment sum, in the order np.add.at would add.
        tr = pairs.track
        start = np.flatnonzero(np.r_[True, tr[1:] != tr[:-1]])
        ut = tr[start]
        r_sum = np.add.reduceat(Rb[pairs.report], start, axis=0)
        cnt = np.diff(np.r_[start, tr.size])
        miss_cost = np.zeros(n)
        miss_cost[ut] = self.config.gate_chi2 + np.log(
            det_sym3(s.P[ut, :3, :3] + r_sum / cnt[:, None, None]))
        cost = pairs.d2 + pairs.log_det_s
        # Confirmed tracks choose first, tentative tracks share what is left. In one joint
        # problem a young track next to a coasting confirmed one can take the target's report
        # and the two then alternate as duplicates.
        tentative = s.f[pairs.track, self._o["status"]] == TrackStatus.TENTATIVE
        st = self.stats
        if not tentative.any() or tentative.all():
            return gnn(n, mb, pairs.track, pairs.report, cost, miss_cost, stats=st)
        conf = ~tentative
        first = gnn(n, mb, pairs.track[conf], pairs.report[conf], cost[conf], miss_cost,
                    stats=st)
        rest = tentative & (first[pairs.report] < 0)
        second = gnn(n, mb, pairs.track[rest], pairs.report[rest], cost[rest], miss_cost,
                     stats=st)
        return np.where(first >= 0, first, second)

    def _oosm_ok(self, rows: I64, t_rep: F64) -> NDArray[np.bool_]:
        # A report older than the track's own state (a later sensor batch already moved it on)
        # cannot be applied forwards: reject and count it.
        ok = t_rep >= self._s.f[rows, self._o["t"]] - self.config.oosm_tolerance_s
        bad = int(ok.size - np.count_nonzero(ok))
        if bad:
            self.stats["oosm_rejected"] += bad
        return ok

    def _update_gnn(
        self, report_track: I64, idx: I64, tb: F64, zb: F64, Rb: F64, ev: F64 | None,
        assoc: I64,
    ) -> None:
        j = np.flatnonzero(report_track >= 0)
        if j.size == 0:
            return
        rows = report_track[j]
        ok = self._oosm_ok(rows, tb[j])
        if not ok.all():
            report_track[j[~ok]] = -2  # rejected: neither an update nor a new track
            j, rows = j[ok], rows[ok]
            if j.size == 0:
                return
        s = self._s
        dt = tb[j] - s.f[rows, self._o["t"]]
        advance_in_place(s.xm, s.Pm, s.mu, s.x, s.P, rows, dt, self._models, zb[j], Rb[j])
        s.f[rows, self._o["t"]] = tb[j]
        self._credit(j, idx, tb, ev, assoc, rows)

    def _commit(
        self, rows: I64, j: I64, xm: F64, Pm: F64, mu: F64, t_state: F64, idx: I64, tb: F64,
        ev: F64 | None, assoc: I64, hit_rows: I64,
    ) -> None:
        """Write filter results for ``rows`` and credit reports ``j`` to ``hit_rows``."""
        s = self._s
        x, P = combine(xm, Pm, mu)
        s.xm[rows], s.Pm[rows], s.mu[rows], s.x[rows], s.P[rows] = xm, Pm, mu, x, P
        s.f[rows, self._o["t"]] = t_state
        self._credit(j, idx, tb, ev, assoc, hit_rows)

    def _credit(
        self, j: I64, idx: I64, tb: F64, ev: F64 | None, assoc: I64, hit_rows: I64
    ) -> None:
        """Credit reports ``j`` of the batch to tracks ``hit_rows``: life cycle, evidence, ids."""
        s, o = self._s, self._o
        f = s.f
        f[hit_rows, o["t_last"]] = np.maximum(f[hit_rows, o["t_last"]], tb[j])
        f[hit_rows, o["n_upd"]] += 1.0
        f[hit_rows, o["hit"]] = 1.0
        if ev is not None:
            np.add.at(s.ev, hit_rows, ev[idx[j]])
        assoc[idx[j]] = s.id[hit_rows]
        self.stats["reports_used"] += int(j.size)

    def _update_jpda(
        self, pairs: GatedPairs, idx: I64, tb: F64, zb: F64, Rb: F64, ev: F64 | None,
        assoc: I64,
    ) -> I64:
        cfg = self.config
        s = self._s
        mb = zb.shape[0]
        report_track = np.full(mb, -1, dtype=np.int64)
        beta, _ = jpda_weights(len(s), mb, pairs.track, pairs.report, pairs.d2,
                               pairs.log_det_s, cfg.p_detection, cfg.clutter_density_per_m3)
        # A report belongs (for ids, evidence and initiation) to its most probable track.
        order = np.lexsort((-beta, pairs.report))
        first = np.ones(order.size, dtype=bool)
        first[1:] = pairs.report[order][1:] != pairs.report[order][:-1]
        best = order[first]
        report_track[pairs.report[best]] = pairs.track[best]

        rows = np.unique(pairs.track)
        # Each updated track is predicted to the mean time of its gated reports (one target's
        # reports in one batch are close in time).
        n = len(s)
        w_t = np.bincount(pairs.track, weights=tb[pairs.report], minlength=n)
        cnt = np.bincount(pairs.track, minlength=n)
        t_upd = w_t[rows] / cnt[rows]
        ok = self._oosm_ok(rows, t_upd)
        rows, t_upd = rows[ok], t_upd[ok]
        if rows.size == 0:
            return report_track
        dt = t_upd - s.f[rows, self._o["t"]]
        xp, Pp, c = imm_predict(s.xm[rows], s.Pm[rows], s.mu[rows], dt, self._models)
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(rows.size)
        keep = local[pairs.track] >= 0
        pt, pr, pb = local[pairs.track[keep]], pairs.report[keep], beta[keep]
        k, n_mod = rows.size, xp.shape[1]

        # Per-model innovations and likelihoods of every validated report.
        S = Pp[pt, :, :3, :3] + Rb[pr][:, None]
        Sinv, det = inv_det_sym3(S)
        nu = zb[pr][:, None, :] - xp[pt, :, :3]  # (pairs, M, 3)
        d2 = np.einsum("pma,pmab,pmb->pm", nu, Sinv, nu)
        lik = np.exp(-0.5 * d2) / np.sqrt((2 * np.pi) ** 3 * det)
        nu_comb = np.zeros((k, n_mod, 3))
        np.add.at(nu_comb, pt, pb[:, None, None] * nu)
        outer = np.zeros((k, n_mod, 3, 3))
        np.add.at(outer, pt, pb[:, None, None, None] * nu[..., :, None] * nu[..., None, :])
        spread = outer - nu_comb[..., :, None] * nu_comb[..., None, :]
        beta0 = np.clip(1.0 - np.bincount(pt, weights=pb, minlength=k), 0.0, 1.0)
        # Mode likelihood of the validated set: (1 - Pd) λ + Pd Σ likelihoods (PDA form).
        mode_lik = np.full((k, n_mod), (1.0 - cfg.p_detection) * cfg.clutter_density_per_m3)
        np.add.at(mode_lik, pt, cfg.p_detection * lik)
        R_rep = np.zeros((k, 3, 3))
        np.add.at(R_rep, pt, pb[:, None, None] * Rb[pr])
        wsum = np.maximum(1.0 - beta0, 1e-12)
        R_rep = R_rep / wsum[:, None, None] + beta0[:, None, None] * Rb.mean(axis=0)
        xm, Pm, mu = imm_update_weighted(xp, Pp, c, nu_comb, spread, beta0, R_rep,
                                         np.log(np.maximum(mode_lik, 1e-300)))
        # A track counts as hit (life cycle, ids, evidence) for the reports it is most
        # probably the source of.
        j = np.flatnonzero(report_track >= 0)
        self._commit(rows, j, xm, Pm, mu, t_upd, idx, tb, ev, assoc, report_track[j])
        return report_track

    def _initiate(
        self, gidx: I64, t0: F64, z0: F64, R0: F64, ev: F64 | None, assoc: I64
    ) -> None:
        cfg = self.config
        k = gidx.size
        s, o = self._s, self._o
        ids = self._next_id + np.arange(k, dtype=np.int64)
        self._next_id += k
        r0 = s.append(ids, ev[gidx] if ev is not None else 0.0)
        sl = slice(r0, r0 + k)
        # One-report start: position from the report, velocity unknown (zero mean, wide).
        P = np.zeros((k, 6, 6))
        P[:, :3, :3] = R0
        sv = cfg.init_velocity_sigma_m_s
        P[:, 3, 3] = P[:, 4, 4] = sv * sv
        P[:, 5, 5] = cfg.init_vertical_velocity_sigma_m_s**2
        s.xm[sl, :, :3] = z0[:, None, :]
        s.Pm[sl] = P[:, None]
        s.mu[sl] = self._mu0
        s.x[sl, :3] = z0
        s.P[sl] = P
        s.x_out[sl, :3] = z0
        s.P_out[sl] = P
        f = s.f[sl]
        f[:, o["t"]] = t0
        f[:, o["t_out"]] = t0
        f[:, o["t_first"]] = t0
        f[:, o["t_last"]] = t0
        f[:, o["t_conf"]] = np.nan
        f[:, o["n_upd"]] = 1.0
        f[:, o["status"]] = TrackStatus.TENTATIVE
        f[:, o["hit"]] = 1.0
        assoc[gidx] = ids
        self.stats["tracks_started"] += k
        self.stats["reports_used"] += k

    def _mark_seen(self, assoc: I64, sensor: I64 | None) -> None:
        """Record which sensors have updated (or started) each track, as bits."""
        s = self._s
        used = np.flatnonzero(assoc >= 0)
        if used.size == 0 or len(s) == 0:
            return
        rows = np.searchsorted(s.id, assoc[used])  # ids are kept in increasing order
        # sensors past the bits share the last one: their bits are only read with
        # ``scanned``, which step() refuses for them (100 radars wrapped the shifts and
        # summed past 2**63: tests/live/test_driver.py)
        bits = (np.left_shift(1, np.minimum(sensor[used].astype(np.int64), _MAX_SENSORS - 1))
                if sensor is not None else np.ones(used.size, np.int64))
        col = self._o["seen_by"]
        seen = s.f[:, col].astype(np.int64)
        np.bitwise_or.at(seen, rows, bits)
        s.f[:, col] = seen  # below 2**52: exact in a float

    def _life_cycle(self, scanned_bits: int | None = None) -> None:
        s, o = self._s, self._o
        if len(s) == 0:
            return
        f = s.f
        # output covariance (at the step time): P_out[0, 0] and P_out[1, 1]
        p0 = 43 * self._models.n_models + 48 + len(_Store._SCALARS)
        old = (f[:, o["status"]].copy(), f[:, o["history"]].copy(), f[:, o["misses"]].copy(),
               f[:, o["age"]].copy())
        hit = f[:, o["hit"]] > 0.0
        var = np.maximum(f[:, p0], f[:, p0 + 7])
        status, history, misses, age, keep, newly = advance(self.config, *old, hit, var)
        if scanned_bits is not None:
            # not updated, and none of its sensors looked: this step does not count for it
            idle = ~hit & ((f[:, o["seen_by"]].astype(np.int64) & scanned_bits) == 0)
            if idle.any():
                for new_col, old_col in zip((status, history, misses, age), old, strict=True):
                    new_col[idle] = old_col[idle]
                keep[idle] = var[idle] <= self.config.max_position_sigma_m**2
        if self.config.duplicate_chi2 > 0:
            dup = duplicates(s.x_out, s.P_out, status != TrackStatus.TENTATIVE, f[:, o["n_upd"]],
                             self.config.duplicate_chi2)
            if dup is not None:
                keep &= ~dup
                self.stats["tracks_merged"] += int(np.count_nonzero(dup))
        f[:, o["status"]] = status
        f[:, o["history"]] = history
        f[:, o["misses"]] = misses
        f[:, o["age"]] = age
        if newly.any():
            f[newly, o["t_conf"]] = f[newly, o["t_last"]]
            self.stats["tracks_confirmed"] += int(np.count_nonzero(newly))
        if not keep.all():
            self.stats["tracks_deleted"] += int(keep.size - np.count_nonzero(keep))
            s.keep(keep)
