"""The block's air picture: simulated sensors feed one tracker for every replication.

Each replication sits in its own slot, displaced along east by ``slot_off`` (far beyond
anything a sensor reports, so no gate spans two slots); the tracker sees one picture, the
stages see each track in its own replication's frame and group. Tracks are numbered per
replication in the order the tracker created them (the order a replication alone would
see), and each remembers the truth row it last followed — the simulator's answer key for
the kill chain, never read by a stage.

It is also the engagement book's track port (:meth:`state_at`, :meth:`drop`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from bastion.core.detections import Detections, K
from bastion.respond.memory import TrackMemory
from bastion.sim.sensors.base import BlockView
from bastion.tracking import Tracker

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.engine import _Block

__all__ = ["Picture"]


class Picture:
    def __init__(self, blk: _Block, slot_off: NDArray[np.float64]) -> None:
        self.blk = blk
        self.slot_off = slot_off
        self.tracker = Tracker(id_base=0)
        self.group = TrackMemory(-1, np.int64)  # block position of each track
        self.label = TrackMemory(-1, np.int64)  # its number in its own replication
        self.truth = TrackMemory(-1, np.int64)  # truth row a track last followed
        self.n_tracks = np.zeros(blk.B, np.int64)  # track numbers handed out per replication
        self.trace_rows: list[list[tuple[NDArray[Any], ...]]] = [[] for _ in range(blk.B)]
        # (delivery time, batch) of every step's reports, kept only when asked (bastion feed)
        self.det_log: list[tuple[float, Detections]] | None = (
            [] if getattr(blk, "keep_detections", False) else None)

    # ------------------------------------------------------------------ track port
    def state_at(self, track_key: int, t_s: float
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """A track's state at ``t_s`` in its replication's frame (``Tracker.state_at``)."""
        st = self.tracker.state_at(track_key, t_s)
        if st is None:
            return None
        x, P = st
        x[:, 0] -= self.slot_off[self.group.get(np.array([track_key], np.int64))]
        return x, P

    def drop(self, track_key: int) -> None:
        self.tracker.drop([track_key])

    def drop_groups(self, mask_b: NDArray[np.bool_]) -> None:
        """Drop every track of the replications in ``mask_b``."""
        ids = self.tracker.tracks.id
        if ids.size:
            gone = ids[mask_b[self.group.get(ids)]]
            if gone.size:
                self.tracker.drop(gone)

    # ------------------------------------------------------------------ stage input
    def confirmed(self, t: float) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                           NDArray[np.float64], NDArray[np.float64],
                                           NDArray[np.float64]]:
        """(ids, group, x, P, evidence) of the confirmed tracks at ``t``, each in its own
        replication's frame."""
        trk = self.tracker
        tracks = trk.tracks
        rows = np.flatnonzero(tracks.confirmed)  # only confirmed tracks are assessed
        ids = tracks.id[rows]
        # The step brought the tracks to t (until_s), except with radars of different periods;
        # only the tracks that are not at t are predicted (per track: a zero-length prediction
        # is not a no-op, and no replication may depend on another's tracks). Indexing with
        # rows copies: x and P are this epoch's own.
        x = tracks.state[rows]
        P = tracks.covariance[rows]
        off = tracks.t_s[rows] != t
        if off.any():
            xa, Pa = trk.predict(t)
            x[off], P[off] = xa[rows[off]], Pa[rows[off]]
        group = self.group.get(ids)
        x[:, 0] -= self.slot_off[group]  # undo the replication slot offset
        ev = tracks.evidence[rows] if tracks.evidence.shape[1] == K else np.zeros((rows.size, K))
        return ids, group, x, P, ev

    # ------------------------------------------------------------------ sensing + tracking
    def sense_and_track(self, t1: float, step_b: NDArray[np.bool_]) -> None:
        blk = self.blk
        view = BlockView(blk.streams, blk.rep_ids, blk.row_block, blk.row_local, step_b)
        before = [s.counter[step_b].copy() for s in blk.survey]
        batches = [r.observe(blk.air, t1, view) for r in blk.radars]
        batches += [p.observe(blk.air, t1, view) for p in blk.points]
        # every stepping replication's counters move together (one clock grid), so "which
        # survey sensors scanned" is one answer for the block
        scanned = np.array([blk.batch_key[s.index] for s, c in zip(blk.survey, before,
                                                                 strict=True)
                            if (s.counter[step_b] > c).any()], np.int64)
        if blk.batch_key.max(initial=0) >= 52:
            scanned = None  # the tracker keeps 52 sensor bits per track: every step counts
        det = Detections.concat(batches)
        if self.det_log is not None and det.m:
            self.det_log.append((t1, det))
        trk = self.tracker
        # A radar delivers a scan when it completes; its reports carry the times the beam
        # crossed each target, back to the scan's start. Every report up to the earliest
        # completed-scan time of any radar is in; the tracker's clock moves only that far, so
        # a slower radar's next scan (started before this tick ended) is not out of sequence.
        until = t1
        for r in blk.radars:
            until = min(until, float(r.counter[step_b].min()) * r.period)
        if not det.m:
            trk.step(until, np.zeros((0, 3)), np.zeros((0, 3, 3)), evidence=np.zeros((0, K)),
                     scanned=scanned)
            return
        z = det.z.copy()
        z[:, 0] += self.slot_off[det.group]
        trk.step(det.t_s, z, det.R, sensor=blk.batch_key[det.sensor], evidence=det.evidence,
                 until_s=until, scanned=scanned)
        assoc = trk.last_association
        # tracks started this step: give each its replication and its number there, in the
        # order the tracker created them (every report of a new track is one of its first,
        # so the first of them is its first report overall)
        fresh = np.flatnonzero((assoc >= 0) & (self.group.get(assoc) < 0))
        if fresh.size:
            gids, first = np.unique(assoc[fresh], return_index=True)
            b = det.group[fresh[first]]
            order = np.argsort(b, kind="stable")
            gids, b = gids[order], b[order]
            n_b = np.bincount(b, minlength=blk.B)
            start = np.cumsum(n_b) - n_b
            rank = np.arange(b.size) - start[b]
            self.group.set(gids, b)
            self.label.set(gids, self.n_tracks[b] + rank)
            self.n_tracks += n_b
        real = (det.truth >= 0) & (assoc >= 0)
        if real.any():
            self.truth.set(assoc[real], det.truth[real])
        # first detection of each drone
        isd = (det.truth >= 0) & (det.truth < blk.nd)
        drones = det.truth[isd]
        if drones.size:
            times = det.t_s[isd]
            first = np.isnan(blk.t_detect[drones])
            for k, tk in zip(drones[first], times[first], strict=True):
                if math.isnan(blk.t_detect[k]):
                    blk.t_detect[k] = tk
                    blk.reps[int(blk.row_block[k])].log.add(
                        tk, "detected", drone=blk.local_drone(int(k)), xyz=blk.air.pos[k])

    def detections(self, b: int) -> tuple[Detections, NDArray[np.float64]]:
        """Replication ``b``'s kept reports in delivery order, and each one's delivery
        time; ``truth`` is the row in the replication's own world (as when it runs alone)."""
        parts, when = [], []
        local = self.blk.row_local
        for t1, det in self.det_log or []:
            rows = np.flatnonzero(det.group == b)
            if rows.size:
                tr = det.truth[rows]
                tr = np.where(tr >= 0, local[np.maximum(tr, 0)], -1)
                parts.append(Detections(det.t_s[rows], det.sensor[rows], det.z[rows],
                                        det.R[rows], det.evidence[rows], tr,
                                        np.zeros(rows.size, np.int64)))
                when.append(np.full(rows.size, t1))
        if not parts:
            return Detections.empty(), np.zeros(0)
        out = Detections(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                           ("t_s", "sensor", "z", "R", "evidence", "truth", "group")))
        return out, np.concatenate(when)

    # ------------------------------------------------------------------ trace (for the map)
    def record(self, t: float, step_b: NDArray[np.bool_]) -> None:
        """Keep truth positions and confirmed tracks of the stepping replications at ``t``."""
        blk = self.blk
        air = blk.air
        tr = self.tracker.tracks
        conf = np.flatnonzero(tr.confirmed)
        tb = self.group.get(tr.id[conf])
        for b in np.flatnonzero(step_b):
            live = np.flatnonzero(air.airborne & (blk.row_block == b))
            c = conf[tb == b]
            pos = tr.position[c].copy()
            pos[:, 0] -= self.slot_off[b]
            self.trace_rows[b].append((
                np.full(live.size, t), blk.row_local[live], air.pos[live].copy(),
                np.full(c.size, t), self.label.get(tr.id[c]), pos,
            ))

    def trace(self, b: int) -> dict[str, NDArray[Any]] | None:
        """Replication ``b``'s recorded truth and tracks as columns."""
        if not self.trace_rows[b]:
            return None
        air, blk = self.blk.air, self.blk
        rows_b = blk.row_block == b
        cols = list(zip(*self.trace_rows[b], strict=True))
        kind = np.empty(int(rows_b.sum()), air.kind.dtype)
        kind[blk.row_local[rows_b]] = air.kind[rows_b]
        return {
            "truth_t": np.concatenate(cols[0]), "truth_row": np.concatenate(cols[1]),
            "truth_pos": np.concatenate(cols[2]), "track_t": np.concatenate(cols[3]),
            "track_id": np.concatenate(cols[4]), "track_pos": np.concatenate(cols[5]),
            "truth_kind": kind,
        }
