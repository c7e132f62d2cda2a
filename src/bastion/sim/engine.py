"""The analysis driver: replications of a scenario stepped through the pipeline in lock-step.

    world (truth) → sensors → tracker → assess → respond → effects → (next tick)

A *block* of replications runs together: one world holding every replication's objects,
one radar scan, one tracker step, one assessment per tick for all of them, so the cost of a
tick (dozens of small NumPy calls) is shared instead of paid per replication. The
replications never interact: the tracker sees each one displaced along east by its own
slot (``_SLOT_M``), every random draw is keyed by its own replication, and each one keeps
its own clock. A replication's result is therefore the same bit for bit whatever block it
runs in, whichever worker runs it (``tests/sim/test_determinism.py`` checks it).

The clock skips time in which nothing can happen: while no drone or own aircraft of a
replication is within reach of any sensor or effector and it has no engagement open, that
replication jumps to the earliest moment something could come into reach (a launch, a
departure, or a drone's distance to the nearest reach circle divided by its best ground
speed), propagating its truth analytically; the block jumps when all its replications can.
Inside coverage it ticks at the fastest radar's scan period on a fixed grid of tick
indices; every sensor keeps its own period and stamps its own report times, so nothing is
coarsened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy.special import ndtri

from bastion.assess import assess_threats, classify
from bastion.assess.threat import Threats
from bastion.core.detections import Detections, K
from bastion.core.events import EventLog
from bastion.core.numerics import np_minimum as _minimum
from bastion.core.rng import RepStreams, Streams
from bastion.respond.effectors import EffectorState, build_effectors
from bastion.respond.engagement import Engagement, EngagementState, OperatorQueue
from bastion.respond.jamming import js_db
from bastion.respond.kinetic import intercepts
from bastion.respond.planner import (
    JAMMER_HOLD_S,
    candidates,
    plan,
    soft_kill_hold,
    within_reach,
)
from bastion.respond.roe import NoFireZones
from bastion.scenario.geo import Frame
from bastion.scenario.load import load_scenario
from bastion.scenario.schema import EOIR, IFF, PassiveRF, Radar, Scenario
from bastion.sim.sensors.base import BlockView
from bastion.sim.sensors.eoir import EOIRSensor
from bastion.sim.sensors.iff import IFFSensor
from bastion.sim.sensors.perimeter import intrusions
from bastion.sim.sensors.radar import RadarSensor
from bastion.sim.sensors.rf import RFSensor
from bastion.sim.world import Fate, Kind, Mode, Nav, build_air, wind_vector
from bastion.sim.world.air import concat_air
from bastion.sim.world.build import DroneInfo
from bastion.tracking import Tracker

__all__ = ["BLOCK", "SimResult", "simulate", "simulate_block"]

_S = EngagementState
# Mode and Kind codes for the compiled passes (tests/sim/test_engine_kernels.py checks them)
_WAITING, _DOWN, _GONE = Mode.WAITING, Mode.DOWN, Mode.GONE
_BIRD, _OWN = Kind.BIRD, Kind.OWN
_GATE_TRUTH_M = 150.0  # a shot aimed at a track hits the real object within this of it
# The decision pre-pass widens plan's reach bound by this fraction: its speeds are summed over
# other row sets than plan's, which may round differently by a few ulps, and it must never
# skip a replication whose plan call would get past the bound.
_REACH_SLACK = 1e-9
# ASSUMED own-aircraft GNSS receiver (military, better than a hobby drone's)
_OWN_RX = {"g_rx_dbi": -5.0, "signal_dbw": -160.0, "threshold_db": 45.0}
# Lock-step: replication r sits at east offset (r mod _SLOTS) · slot spacing inside the
# tracker. The offset depends on r alone, so a replication's arithmetic is the same in any
# block (and alone).
_SLOTS = 64
BLOCK = 64  # replications per lock-step block (at most _SLOTS)


@dataclass
class SimResult:
    scenario: str
    replication: int
    seed: int
    outcome: dict[str, float]
    events: pa.Table
    shots_by_effector: dict[str, int]
    cost_by_effector: dict[str, float]
    steps: int  # ticks stepped; skipped (empty) time is jumped over, not stepped
    t_end_s: float
    trace: dict[str, NDArray[Any]] | None = None
    engagements: list[Engagement] = field(default_factory=list)


class ByTrack:
    """A per-track attribute as an array indexed by the tracker's track id (0, 1, 2, …)."""

    def __init__(self, fill: float, dtype: type) -> None:
        self.fill = fill
        self.a = np.full(256, fill, dtype)
        self._fill = self.a.dtype.type(fill)  # typed, for the compiled lookup

    def get(self, ids: NDArray[np.int64]) -> NDArray[Any]:
        """Values at ``ids`` (1-d); ``fill`` for ids never set (negative or past the end)."""
        return _lookup(self.a, np.asarray(ids, np.int64), self._fill)

    def set(self, ids: NDArray[np.int64], values: Any) -> None:
        if ids.size and ids.max() >= self.a.size:
            grown = np.full(max(int(ids.max()) + 1, 2 * self.a.size), self.fill, self.a.dtype)
            grown[: self.a.size] = self.a
            self.a = grown
        self.a[ids] = values


@nb.njit(cache=True, error_model="numpy")
def _lookup(a, ids, fill):  # pragma: no cover - compiled
    # ByTrack.get: a handful of lookups of ~800 ids per tick, one compiled pass instead of
    # five NumPy calls (mask, index, fill) each
    n = a.shape[0]
    out = np.empty(ids.shape[0], a.dtype)
    for i in range(ids.shape[0]):
        k = ids[i]
        out[i] = a[k] if 0 <= k < n else fill
    return out


@nb.njit(cache=True, error_model="numpy")
def _jammer_need(cand_b, cand_pos, jam_pos, act_m, n_b):  # pragma: no cover - compiled
    # (replication, jammer): some candidate of the replication is within the jammer's
    # activation range (horizontal distance, sqrt(dx² + dy²) as np.linalg.norm computes it)
    need = np.zeros((n_b, jam_pos.shape[0]), np.bool_)
    for i in range(cand_b.shape[0]):
        for q in range(jam_pos.shape[0]):
            dx = cand_pos[i, 0] - jam_pos[q, 0]
            dy = cand_pos[i, 1] - jam_pos[q, 1]
            if math.sqrt(dx * dx + dy * dy) <= act_m[q]:
                need[cand_b[i], q] = True
    return need


@nb.njit(cache=True, error_model="numpy")
def _quiet_bound(t, inb, busy, mode, kind, pos, t_start, row_block, nd, site_xy, reach_m,
                 max_ground_speed, duration):  # pragma: no cover - compiled
    # _Block.quiet_until for the replications in inb (busy: those with an open engagement,
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
def _pending_drones(mode, row_block, nd, n_b):  # pragma: no cover - compiled
    # per replication: some drone still waiting to launch or flying
    out = np.zeros(n_b, np.bool_)
    for k in range(nd):
        m = mode[k]
        if m != _DOWN and m != _GONE:
            out[row_block[k]] = True
    return out


@nb.njit(cache=True, error_model="numpy")
def _cue_rows(pc, free, tb, x, eo_pos, range_m):  # pragma: no cover - compiled
    # Rows whose replication's turret is free, whose largest class probability is below
    # 0.95 (np.max: a NaN row is never below) and whose distance to the turret,
    # sqrt(dx² + dy² + dz²) as np.linalg.norm sums it, is within range; ascending.
    n, k_ = pc.shape
    out = np.empty(n, np.int64)
    c = 0
    for i in range(n):
        if not free[tb[i]]:
            continue
        mx = pc[i, 0]
        for j in range(1, k_):
            v = pc[i, j]
            if mx != mx or v != v:
                mx = np.nan
            elif v > mx:
                mx = v
        if not mx < 0.95:
            continue
        dx = x[i, 0] - eo_pos[0]
        dy = x[i, 1] - eo_pos[1]
        dz = x[i, 2] - eo_pos[2]
        if math.sqrt(dx * dx + dy * dy + dz * dz) <= range_m:
            out[c] = i
            c += 1
    return out[:c]


@nb.njit(cache=True, error_model="numpy")
def _distances(pos, rows, p):  # pragma: no cover - compiled
    # |pos[rows] − p| in 3-d, sqrt(dx² + dy² + dz²) as np.linalg.norm sums it
    out = np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        k = rows[i]
        dx = pos[k, 0] - p[0]
        dy = pos[k, 1] - p[1]
        dz = pos[k, 2] - p[2]
        out[i] = math.sqrt(dx * dx + dy * dy + dz * dz)
    return out


def _take_threats(th: Threats, rows: NDArray[np.int64]) -> Threats:
    ttg = th.time_to_go_s[rows]
    return Threats(th.asset[rows], th.p_reach[rows], ttg, th.value[rows],
                   np.argsort(ttg, kind="stable"))


class _Rep:
    """Python-side state of one replication: its log, engagements, operator and clock."""

    def __init__(self, blk: _Block, b: int, rep: int, info: DroneInfo, d0: int, nd: int,
                 eff: EffectorState, wind: NDArray[np.float64]) -> None:
        self.b, self.rep = b, rep
        self.streams = Streams(blk.seed, rep)
        self.log = EventLog(rep)
        self.info = info
        self.d0, self.nd = d0, nd  # global drone rows d0 .. d0+nd-1
        self.eff = eff  # dynamic arrays are views of the block's (B, E) arrays
        self.wind = wind
        self.engagements: list[Engagement] = []
        self.open: list[Engagement] = []  # the ones not yet ended: all a tick needs
        self.wake = math.inf  # progress has nothing to do before then (see _Block._due)
        self.next_hit = math.inf  # earliest arrival of a projectile in flight
        self.operator = OperatorQueue()
        self.counts = {k: 0 for k in ("shots_at_birds", "shots_at_own", "birds_killed",
                                      "own_killed", "nfz_impacts", "false_track_shots")}
        self.t = 0.0  # this replication's clock
        self.frozen_until = -1  # tick index it skips to (world not yet advanced), or -1
        self.finished = False
        self.steps = 0
        self.n_tracks = 0  # local track ids handed out
        self.trace_rows: list[tuple[NDArray[Any], ...]] = []
        self.result: SimResult | None = None


class _Block:
    """A lock-step block of replications of one scenario."""

    def __init__(self, sc: Scenario, reps: list[int], seed: int, record: bool) -> None:
        if not reps or len(set(r % _SLOTS for r in reps)) != len(reps):
            raise ValueError(f"a block needs 1..{_SLOTS} replications with distinct "
                             f"indices modulo {_SLOTS}")
        self.sc, self.seed, self.record = sc, seed, record
        self.frame = Frame(sc.origin)
        self.doctrine = sc.doctrine
        B = self.B = len(reps)
        self.rep_ids = np.array(reps, np.int64)
        assets = [(s.name, a) for s in sc.sites for a in s.assets]
        self.asset_names = [a.name for _, a in assets]
        self.asset_enu = np.array([self.frame.point(a.position) for _, a in assets])
        self.asset_radius = np.array([a.radius_m for _, a in assets])
        self.asset_value = np.array([a.value for _, a in assets])
        self.site_centre = np.array([
            np.mean([self.frame.point(a.position) for a in s.assets], axis=0) for s in sc.sites])
        self.site_xy = np.ascontiguousarray(self.site_centre[:, :2]).reshape(-1, 2)
        # world: every replication's objects in one struct of arrays
        parts, infos, winds = [], [], []
        for r in reps:
            st = Streams(seed, r)
            air, info = build_air(sc, self.frame, st, self.asset_enu, self.asset_names)
            air.wind = wind_vector(sc, st)
            parts.append(air)
            infos.append(info)
            winds.append(air.wind)
        self.air, self.row_block, self.row_local = concat_air(parts)
        self.nd = self.air.n_drones
        self.own_rows = np.flatnonzero(self.air.kind == Kind.OWN)  # kinds never change
        self.rep_rows = [np.flatnonzero(self.row_block == b) for b in range(B)]
        self.info = DroneInfo(*(np.concatenate([getattr(i, f) for i in infos])
                                for f in ("raid", "target_asset", "js_threshold_db",
                                          "gnss_signal_dbw", "antenna_gain_dbi")))
        self.streams = RepStreams(seed, self.rep_ids)
        # sensors: one object per scenario sensor serves every replication of the block
        self.radars: list[RadarSensor] = []
        self.points: list[Any] = []
        self.eo: list[EOIRSensor] = []
        for i, s in enumerate(sc.sensors):
            pos = self.frame.point(s.position)
            if isinstance(s, Radar):
                self.radars.append(RadarSensor(s, i, pos))
            elif isinstance(s, PassiveRF):
                self.points.append(RFSensor(s, i, pos))
            elif isinstance(s, IFF):
                self.points.append(IFFSensor(s, i, pos))
            elif isinstance(s, EOIR):
                e = EOIRSensor(s, i, pos, sc.night)
                self.eo.append(e)
                self.points.append(e)
        for s in self.radars + self.points:
            s.reset(B)
        self.tracker = Tracker(id_base=0)
        # Association batches, one per reporting sensor, in scenario order: the tracker
        # associates each batch separately so two sensors can both update one track in a step.
        # Keys are compact (perimeter sensors do not report tracks).
        self.batch_key = np.full(len(sc.sensors), -1, dtype=np.int64)
        for k, s in enumerate(sorted(self.radars + self.points, key=lambda s: s.index)):
            self.batch_key[s.index] = k
        # Survey sensors look at everything in reach every scan: a track one of them has seen
        # misses a step only when it scanned. (An EO/IR turret looks where it is cued.)
        self.survey = self.radars + [p for p in self.points if not isinstance(p, EOIRSensor)]
        # slot spacing: well beyond anything a sensor can report, so no gate spans two slots
        ranges = [max(getattr(s, "max_range_m", 0.0), getattr(s, "range_m", 0.0),
                      getattr(s, "range_day_m", 0.0), getattr(s, "range_night_m", 0.0))
                  + float(np.linalg.norm(self.frame.point(s.position)[:2])) for s in sc.sensors]
        spacing = max(1.0e6, 4.0 * max(ranges, default=0.0))
        self.slot_off = (self.rep_ids % _SLOTS).astype(float) * spacing
        # effectors: static facts shared, dynamic state one row per replication
        e0 = build_effectors(sc, self.frame)
        self.eff0 = e0
        self.rounds = np.tile(e0.rounds, (B, 1))
        self.busy_until = np.tile(e0.busy_until_s, (B, 1))
        self.reload_done = np.tile(e0.reload_done_s, (B, 1))
        self.radiating = np.tile(e0.radiating, (B, 1))
        self.last_need = np.tile(e0.last_need_s, (B, 1))
        # jammers: their effector columns and activation ranges, for the switching pass
        self.jam_cols = np.array([j for j, _ in e0.jammers], np.int64)
        self.jam_act_m = np.array([jam.activation_range_m for _, jam in e0.jammers], float)
        self.nfz = NoFireZones([self.frame.polygon(z.polygon) for s in sc.sites
                                for z in s.no_fire_zones])
        op = self.doctrine.operator
        self.expected_delay_s = (op.decision_time_s * math.exp(op.decision_time_sigma**2 / 2)
                                 if self.doctrine.human_in_loop else 0.0)
        d_first = np.searchsorted(self.row_block[: self.nd], np.arange(B))
        self.reps: list[_Rep] = []
        for b, r in enumerate(reps):
            nd_b = int(np.sum(self.row_block[: self.nd] == b))
            eff = EffectorState(**{**e0.__dict__, "rounds": self.rounds[b],
                                   "busy_until_s": self.busy_until[b],
                                   "reload_done_s": self.reload_done[b],
                                   "radiating": self.radiating[b],
                                   "last_need_s": self.last_need[b]})
            self.reps.append(_Rep(self, b, r, infos[b], int(d_first[b]), nd_b, eff, winds[b]))
        # tick: the fastest radar (or the decision period when there is no radar)
        periods = [r.period for r in self.radars] + [self.doctrine.decision_period_s]
        self.tick = max(min(periods), 0.25)
        # reach: beyond this from every site centre nothing can sense or hit a drone; per
        # replication, since it depends on the largest RCS drawn there
        reach_fixed = [getattr(p.cfg, "range_m", 0.0) for p in self.points
                       if not isinstance(p, EOIRSensor)]
        reach_fixed += [e.range_m for e in self.eo]
        reach_fixed += list(e0.max_range_m[e0.kinetic])
        reach_fixed += [j.activation_range_m for _, j in e0.jammers]
        sens_pos = [r.pos for r in self.radars] + [p.pos for p in self.points] + list(e0.pos)
        # measure reach from site centres, padded by how far any sensor stands off-centre
        off = max((float(np.min(np.linalg.norm(self.site_centre[:, :2] - p[:2], axis=1)))
                   for p in sens_pos), default=0.0)
        self.reach_m = np.zeros(B)
        self.max_ground_speed = np.zeros(B)
        for rs in self.reps:
            rows = slice(rs.d0, rs.d0 + rs.nd)
            max_rcs = float(self.air.rcs_m2[rows].max()) if rs.nd else 1.0
            reach = [r.reach_m(max_rcs) for r in self.radars] + reach_fixed
            self.reach_m[rs.b] = (max(reach) if reach else 0.0) + off + 2_000.0
            self.max_ground_speed[rs.b] = (float(self.air.speed_mps[rows].max())
                                           if rs.nd else 0.0) + float(
                np.linalg.norm(rs.wind)) + 5.0
        # per-drone kill-chain bookkeeping (global drone rows; nan until it happens)
        self.t_detect = np.full(self.nd, np.nan)
        self.t_confirm = np.full(self.nd, np.nan)
        self.t_identify = np.full(self.nd, np.nan)
        # per-track bookkeeping, by the tracker's id
        self.track_block = ByTrack(-1, np.int64)
        self.track_local = ByTrack(-1, np.int64)
        self.track_truth = ByTrack(-1, np.int64)  # truth row a track last followed
        self.soft_since = ByTrack(np.nan, np.float64)  # when it entered a jammer footprint
        self.next_decision = np.zeros(B)  # per replication: its next decision epoch
        self.threat = ByTrack(0, np.bool_)  # engageable at the last epoch
        self.own_jammed = np.zeros(self.air.n, bool)

    # ------------------------------------------------------------------ helpers
    def rows_of(self, mask_b: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """World-row mask of the replications in ``mask_b``."""
        return mask_b[self.row_block]

    def local_drone(self, k: int) -> int:
        return int(self.row_local[k]) if 0 <= k < self.nd else -1

    def drop_tracks(self, mask_b: NDArray[np.bool_]) -> None:
        ids = self.tracker.tracks.id
        if ids.size:
            gone = ids[mask_b[self.track_block.get(ids)]]
            if gone.size:
                self.tracker.drop(gone)

    # ------------------------------------------------------------------ clock
    def quiet_until(self, t: float, bs: NDArray[np.int64]) -> NDArray[np.float64]:
        """Per replication in ``bs``: the earliest time anything can come into reach (``t``
        when something already is)."""
        B, air = self.B, self.air
        inb = np.zeros(B, bool)
        inb[bs] = True
        busy = np.zeros(B, bool)
        busy[[rs.b for rs in self.reps if rs.open]] = True
        # one compiled pass over the rows (see _quiet_bound): a drone in reach, an own
        # aircraft flying or an open engagement keeps its replication busy; otherwise the
        # bound is the earliest launch or a live drone's gap over its best ground speed
        bound = _quiet_bound(float(t), inb, busy, air.mode, air.kind, air.pos, air.t_start_s,
                             self.row_block, self.nd, self.site_xy, self.reach_m,
                             self.max_ground_speed, float(self.sc.duration_s))
        return bound[bs]

    def finished_mask(self, bs: NDArray[np.int64]) -> NDArray[np.bool_]:
        pending = _pending_drones(self.air.mode, self.row_block, self.nd, self.B)
        return np.array([not pending[b] and not self.reps[b].open for b in bs], bool)

    def advance(self, t0: float, t1: float, mask_b: NDArray[np.bool_]) -> None:
        self.apply_world_events(self.air.advance(t0, t1, self.rows_of(mask_b)))

    # ------------------------------------------------------------------ world events
    def apply_world_events(self, ended: list[tuple[int, int, float]]) -> None:
        for k, fate, t_s in ended:
            rs = self.reps[int(self.row_block[k])]
            pos = self.air.impact[k]
            kl = self.local_drone(k)
            if fate == Fate.ATTACKED:
                rs.log.add(t_s, "leaked", drone=kl, xyz=pos)
            elif fate in (Fate.LANDED, Fate.CRASHED):
                rs.log.add(t_s, "forced_down", drone=kl, xyz=pos,
                           detail="crashed" if fate == Fate.CRASHED else "landed")
            elif fate == Fate.RETURNED:
                rs.log.add(t_s, "returned", drone=kl, xyz=pos)
            elif fate == Fate.OUT_OF_FUEL:
                rs.log.add(t_s, "out_of_fuel", drone=kl, xyz=pos)
            # a warhead that goes off (attack, or crash on the ground) may hit an asset
            if fate in (Fate.ATTACKED, Fate.CRASHED, Fate.OUT_OF_FUEL):
                self._warhead(rs, k, t_s, pos)

    def _warhead(self, rs: _Rep, k: int, t_s: float, pos: NDArray[np.float64]) -> None:
        lethal = float(self.sc.airframes[self.sc.raids[int(self.info.raid[k])].airframe]
                       .lethal_radius_m)
        d = np.linalg.norm(self.asset_enu[:, :2] - pos[:2], axis=1)
        for a in np.flatnonzero(d <= self.asset_radius + lethal):
            rs.log.add(t_s, "asset_hit", drone=self.local_drone(k), xyz=pos,
                       value=float(self.asset_value[a]), detail=self.asset_names[a])

    # ------------------------------------------------------------------ effects: EW
    def electronic_warfare(self, t: float, step_b: NDArray[np.bool_]) -> None:
        air, nd, e0 = self.air, self.nd, self.eff0
        on = self.radiating & step_b[:, None]
        any_on = on.any(axis=1)
        if not any_on.any() or nd == 0:
            return
        blk = self.row_block
        live = (air.mode[:nd] == Mode.CRUISE) & air.gnss_susceptible  # cruising: airborne
        idx0 = np.flatnonzero(live & any_on[blk[:nd]])
        denied = np.zeros(nd, bool)
        for j, jam in e0.jammers:
            idx = idx0[on[blk[idx0], j]]
            if idx.size == 0:
                continue
            d = _distances(air.pos, idx, e0.pos[j])
            js = js_db(jam.eirp_dbw, jam.frequency_mhz, d, self.info.antenna_gain_dbi[idx],
                       self.info.gnss_signal_dbw[idx])
            if jam.mode == "jam":
                denied[idx[js > self.info.js_threshold_db[idx]]] = True
            else:
                inrange = idx[(js >= jam.spoof_capture_margin_db) & (air.nav[idx] == Nav.GNSS)]
                if inrange.size:
                    u = self.streams.uniform("spoof-capture", blk[inrange],
                                             self.row_local[inrange], j)
                    for k in inrange[u < jam.p_capture]:
                        air.spoof(int(k), self.frame.point(jam.divert_to), j)
                        self.reps[int(blk[k])].log.add(t, "spoofed", drone=self.local_drone(k),
                                                       effector=j, xyz=air.pos[k])
                    # receivers that notice the spoof distrust GNSS: as good as denied
                    denied[inrange[u >= jam.p_capture]] = True
        newly = denied & np.isnan(air.denied_since_s) & (air.nav == Nav.GNSS)
        for k in np.flatnonzero(newly):
            self.reps[int(blk[k])].log.add(t, "gnss_denied", drone=self.local_drone(k),
                                           xyz=air.pos[k])
        for k, fs in air.set_denied(denied, t, any_on[blk[:nd]]):
            self.reps[int(blk[k])].log.add(
                t, "failsafe", drone=self.local_drone(k), xyz=air.pos[k],
                detail={Mode.LAND: "land", Mode.LOITER: "loiter", Mode.RETURN: "return",
                        Mode.CRUISE: "continue_ins"}[fs])
        # own aircraft suffer the denial too (counted once per aircraft)
        own = self.own_rows
        m = air.mode[own]
        own = own[(m != Mode.WAITING) & (m != Mode.DOWN) & (m != Mode.GONE)
                  & ~self.own_jammed[own] & any_on[blk[own]]]
        for j, jam in e0.jammers:
            sel = own[on[blk[own], j]]
            if sel.size == 0 or jam.mode != "jam":
                continue
            d = _distances(air.pos, sel, e0.pos[j])
            js = js_db(jam.eirp_dbw, jam.frequency_mhz, d, np.full(sel.size, _OWN_RX["g_rx_dbi"]),
                       np.full(sel.size, _OWN_RX["signal_dbw"]))
            for k in sel[js > _OWN_RX["threshold_db"]]:
                self.own_jammed[k] = True
                self.reps[int(blk[k])].log.add(t, "own_aircraft_jammed", effector=j,
                                               xyz=air.pos[k])

    # ------------------------------------------------------------------ sensing + tracking
    def sense_and_track(self, t1: float, step_b: NDArray[np.bool_]) -> None:
        view = BlockView(self.streams, self.rep_ids, self.row_block, self.row_local, step_b)
        before = [s.counter[step_b].copy() for s in self.survey]
        batches = [r.observe(self.air, t1, view) for r in self.radars]
        batches += [p.observe(self.air, t1, view) for p in self.points]
        # every stepping replication's counters move together (one clock grid), so "which
        # survey sensors scanned" is one answer for the block
        scanned = np.array([self.batch_key[s.index] for s, c in zip(self.survey, before,
                                                                  strict=True)
                            if (s.counter[step_b] > c).any()], np.int64)
        if self.batch_key.max(initial=0) >= 52:
            scanned = None  # the tracker keeps 52 sensor bits per track: every step counts
        det = Detections.concat(batches)
        trk = self.tracker
        # A radar delivers a scan when it completes; its reports carry the times the beam
        # crossed each target, back to the scan's start. Every report up to the earliest
        # completed-scan time of any radar is in; the tracker's clock moves only that far, so
        # a slower radar's next scan (started before this tick ended) is not out of sequence.
        until = t1
        for r in self.radars:
            until = min(until, float(r.counter[step_b].min()) * r.period)
        if det.m:
            z = det.z.copy()
            z[:, 0] += self.slot_off[det.group]
            trk.step(det.t_s, z, det.R, sensor=self.batch_key[det.sensor],
                     evidence=det.evidence, until_s=until, scanned=scanned)
        else:
            trk.step(until, np.zeros((0, 3)), np.zeros((0, 3, 3)), evidence=np.zeros((0, K)),
                     scanned=scanned)
            return
        assoc = trk.last_association
        # tracks started this step: give each its replication and its number there, in the
        # order the tracker created them (the order a replication alone would see)
        # (reports on tracks not yet given a replication: every report of a new track is
        # one, so the first of them is its first report overall)
        fresh = np.flatnonzero((assoc >= 0) & (self.track_block.get(assoc) < 0))
        if fresh.size:
            gids, first = np.unique(assoc[fresh], return_index=True)
            b = det.group[fresh[first]]
            order = np.argsort(b, kind="stable")
            gids, b = gids[order], b[order]
            n_b = np.bincount(b, minlength=self.B)
            start = np.cumsum(n_b) - n_b
            rank = np.arange(b.size) - start[b]
            base = np.array([rs.n_tracks for rs in self.reps])
            self.track_block.set(gids, b)
            self.track_local.set(gids, base[b] + rank)
            for bb in np.flatnonzero(n_b):
                self.reps[bb].n_tracks += int(n_b[bb])
        real = (det.truth >= 0) & (assoc >= 0)
        if real.any():
            self.track_truth.set(assoc[real], det.truth[real])
        # first detection of each drone
        isd = (det.truth >= 0) & (det.truth < self.nd)
        drones = det.truth[isd]
        if drones.size:
            times = det.t_s[isd]
            first = np.isnan(self.t_detect[drones])
            for k, tk in zip(drones[first], times[first], strict=True):
                if math.isnan(self.t_detect[k]):
                    self.t_detect[k] = tk
                    self.reps[int(self.row_block[k])].log.add(
                        tk, "detected", drone=self.local_drone(int(k)), xyz=self.air.pos[k])

    def _own_xy(self, gids: NDArray[np.int64], x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Undo the replication slot offset of track states ``x`` (copy)."""
        x = x.copy()
        x[:, 0] -= self.slot_off[self.track_block.get(gids)]
        return x

    # ------------------------------------------------------------------ assess + respond
    def decide(self, t: float, step_b: NDArray[np.bool_]) -> None:
        trk = self.tracker
        tracks = trk.tracks
        rows = np.flatnonzero(tracks.confirmed)  # only confirmed tracks are assessed
        if rows.size == 0:
            self._switch_jammers(t, step_b, np.zeros(0, np.int64), np.zeros((0, 3)))
            return
        ids = tracks.id[rows]
        # The step brought the tracks to t (until_s), except with radars of different periods;
        # only the tracks that are not at t are predicted (per track: a zero-length
        # prediction is not a no-op, and no replication may depend on another's tracks).
        # Indexing with rows copies: x and P are this epoch's own.
        x = tracks.state[rows]
        P = tracks.covariance[rows]
        off = tracks.t_s[rows] != t
        if off.any():
            xa, Pa = trk.predict(t)
            x[off], P[off] = xa[rows[off]], Pa[rows[off]]
        tb = self.track_block.get(ids)
        x[:, 0] -= self.slot_off[tb]  # undo the replication slot offset (as _own_xy)
        ev = tracks.evidence[rows] if tracks.evidence.shape[1] == K else np.zeros((rows.size, K))
        pc = classify(x[:, 3:], P, ev)
        cues = self._cue_candidates(t, step_b, tb, x, pc)
        threats = self._threats(x, P, pc[:, 0], [want for _, want in cues])
        truth = self.track_truth.get(ids)
        # kill-chain marks for drones: confirmed and identified
        is_drone = (truth >= 0) & (truth < self.nd)
        if is_drone.any():
            thr_h = (self.doctrine.p_hostile_free if self.doctrine.weapons_control != "tight"
                     else self.doctrine.p_hostile_tight)
            for mark, kind, sel in ((self.t_confirm, "confirmed", is_drone),
                                    (self.t_identify, "identified",
                                     is_drone & (pc[:, 0] >= thr_h))):
                ks = truth[sel]
                # the unmarked ones, each once, in drone order (rarely any: sort only those)
                for k in np.unique(ks[np.isnan(mark[ks])]):
                    mark[k] = t
                    self.reps[int(self.row_block[k])].log.add(
                        t, kind, drone=self.local_drone(int(k)), xyz=self.air.pos[k])
        cand = candidates(self.doctrine, pc[:, 0], np.ones(rows.size, bool), threats)
        self.threat.set(ids, cand)
        self._switch_jammers(t, step_b, tb[cand], x[cand, :3])
        self._cue_eo(t, cues, ids, tb, x, threats)
        # per replication: one decision epoch of the doctrine
        has = np.zeros(self.B, bool)
        has[tb] = True
        epoch = step_b & has & (t + 1e-9 >= self.next_decision)
        self.next_decision[epoch] = t + self.doctrine.decision_period_s
        c_b = np.bincount(tb[cand], minlength=self.B) > 0
        # plan has something to propose, or a jammer footprint to time (soft_since)
        called = epoch & (c_b | self.radiating.any(axis=1))
        if not called.any():
            return
        go, busy, soft = self._screen(t, called, ids, tb, x, cand, threats)
        for b in np.flatnonzero(go):  # about one replication an epoch, often none
            rs = self.reps[b]
            sub = np.flatnonzero(tb == b)
            sid = ids[sub]
            # soft_since is already up to date for these rows: plan's update repeats it
            # (idempotent), and what it holds back follows from the same values
            soft_b = soft[sub]
            props = plan(t, self.doctrine, rs.eff, x[sub], P[sub], cand[sub],
                         _take_threats(threats, sub), busy[sub], soft_b, self.nfz, rs.wind,
                         self.expected_delay_s, self.asset_enu[:, :2])
            self.soft_since.set(sid, soft_b)
            for p in props:
                self._propose(rs, t, p, int(sid[p.track_row]))

    def _screen(self, t: float, called: NDArray[np.bool_], ids: NDArray[np.int64],
                tb: NDArray[np.int64], x: NDArray[np.float64], cand: NDArray[np.bool_],
                threats: Threats) -> tuple[NDArray[np.bool_], NDArray[np.bool_],
                                           NDArray[np.float64]]:
        """Everything ``plan`` computes before its early returns, for the replications in
        ``called`` at once (most epochs have nothing in reach, and a call per replication
        costs more than the little it does).

        Applies plan's one side effect, the soft_since update, for every called replication,
        and returns (replications whose plan call can get past its early returns, busy per
        row, soft_since per row). A replication left out is one whose plan call returns [];
        busy is exact for the rows of the replications returned.
        """
        m = called[tb] & (tb >= 0)  # the rows plan would see (tb is never -1; be safe)
        soft = self.soft_since.get(ids)
        # Only rows whose replication has a jammer radiating can be inside a footprint or be
        # held for one; soft_kill_hold works row by row, so the others are left out.
        sel = np.flatnonzero(m & self.radiating[:, self.jam_cols].any(axis=1)[tb])
        hold = np.zeros(ids.size, bool)
        if sel.size:
            soft_s = soft[sel]
            hold[sel] = soft_kill_hold(t, self.doctrine, self.eff0, self.radiating[tb[sel]],
                                       x[sel, :2], self.asset_enu[:, :2], threats.asset[sel],
                                       threats.time_to_go_s[sel], soft_s, x[sel, 3:5])
            soft[sel] = soft_s
            self.soft_since.set(ids[sel], soft_s)
        ready = self.eff0.kinetic & (self.rounds > 0) & (self.busy_until <= t)  # eff.ready
        # plan's now_ok, less the busy tracks: those need the open engagements, a Python
        # walk, so only the replications still in the running pay for it
        now_ok = cand & m & ~hold & ready.any(axis=1)[tb]
        maybe = np.zeros(self.B, bool)
        maybe[tb[now_ok]] = True
        busy = self._busy_rows(maybe, ids, tb)
        r = np.flatnonzero(now_ok & ~busy)
        go = np.zeros(self.B, bool)
        if r.size == 0:
            return go, busy, soft
        kin = np.flatnonzero(self.eff0.kinetic)
        delay = self.eff0.reaction_s[kin] + self.expected_delay_s
        near = within_reach(self.eff0, kin, delay, x[r, :2], np.linalg.norm(x[r, 3:], axis=1),
                            slack=_REACH_SLACK)
        go[tb[r[(near & ready[tb[r]][:, kin].T).any(axis=0)]]] = True
        return go, busy, soft

    def _busy_rows(self, reps_b: NDArray[np.bool_], ids: NDArray[np.int64],
                   tb: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Per row of a replication in ``reps_b``: it has an engagement open on the track."""
        keys = [e.track_key for b in np.flatnonzero(reps_b) for e in self.reps[b].open]
        if not keys:
            return np.zeros(ids.size, bool)
        # Track ids are unique across the block and an engagement's track belongs to its
        # own replication, so marking the ids alone matches (replication, track) pairs.
        mark = np.zeros(self.track_block.a.size, bool)
        mark[np.array(keys, np.int64)] = True
        return _lookup(mark, ids, np.bool_(False)) & reps_b[tb] & (tb >= 0)

    def _switch_jammers(self, t: float, step_b: NDArray[np.bool_], cand_b: NDArray[np.int64],
                        cand_pos: NDArray[np.float64]) -> None:
        """Jammers radiate while a candidate is inside their activation range (and for
        ``JAMMER_HOLD_S`` after); switches are logged per replication."""
        cols = self.jam_cols
        if cols.size == 0:
            return
        if cand_b.size:
            need = _jammer_need(cand_b, cand_pos, self.eff0.pos[cols], self.jam_act_m, self.B)
            bb, qq = np.nonzero(need & step_b[:, None])
            self.last_need[bb, cols[qq]] = t
        want = (t - self.last_need[:, cols]) <= JAMMER_HOLD_S
        change = step_b[:, None] & (want != self.radiating[:, cols])
        # by replication, then jammer: each replication logs its switches in jammer order
        for b, q in zip(*np.nonzero(change), strict=True):
            j = int(cols[q])
            self.radiating[b, j] = want[b, q]
            self.reps[b].log.add(t, "jammer_on" if want[b, q] else "jammer_off", effector=j)

    def _threats(self, x: NDArray[np.float64], P: NDArray[np.float64],
                 p_hostile: NDArray[np.float64], cue_rows: list[NDArray[np.int64]]) -> Threats:
        """Threats of the rows anything reads: possible candidates (P(hostile) above the
        doctrine's threshold: ``candidates`` with every P(reaches) at 1) and the tracks an
        EO/IR turret may be cued at (ranked by value). Every other row reads as no threat
        (P(reaches) 0, time-to-go inf): none of them can be a candidate whatever its
        P(reaches), and plan, the screen and soft-kill holds act on candidates only.
        assess_threats works row by row, so the rows computed are exactly as if all were.
        About one track in ten is a possible candidate (the rest are mostly birds).
        """
        n = x.shape[0]
        ones = np.ones(n)
        need = candidates(self.doctrine, p_hostile, np.ones(n, bool),
                          Threats(np.zeros(n, np.int64), ones, ones, ones, np.arange(n)))
        for want in cue_rows:
            need[want] = True
        r = np.flatnonzero(need)
        if r.size == n:
            return assess_threats(x[:, :3], x[:, 3:], P, p_hostile, self.asset_enu[:, :2],
                                  self.asset_radius, self.asset_value)
        th = assess_threats(x[r, :3], x[r, 3:], P[r], p_hostile[r], self.asset_enu[:, :2],
                            self.asset_radius, self.asset_value)
        asset = np.zeros(n, np.int64)
        p_reach = np.zeros(n)
        ttg = np.full(n, np.inf)
        value = np.zeros(n)
        asset[r], p_reach[r], ttg[r], value[r] = th.asset, th.p_reach, th.time_to_go_s, th.value
        return Threats(asset, p_reach, ttg, value, np.argsort(ttg, kind="stable"))

    def _cue_candidates(self, t: float, step_b: NDArray[np.bool_], tb: NDArray[np.int64],
                        x: NDArray[np.float64], pc: NDArray[np.float64]
                        ) -> list[tuple[EOIRSensor, NDArray[np.int64]]]:
        """Per EO/IR turret free to take a cue: the tracks it may be cued at (uncertain:
        no class above 0.95; within range), by row."""
        cues = []
        for eo in self.eo:
            free = eo.free(t) & step_b
            if free.any():
                cues.append((eo, _cue_rows(pc, free, tb, x, eo.pos, float(eo.range_m))))
        return cues

    def _cue_eo(self, t: float, cues: list[tuple[EOIRSensor, NDArray[np.int64]]],
                ids: NDArray[np.int64], tb: NDArray[np.int64], x: NDArray[np.float64],
                threats: Threats) -> None:
        for eo, want in cues:
            if want.size == 0:
                continue
            # per replication, the most valuable uncertain track (first on ties, by row)
            o = np.lexsort((want, -threats.value[want], tb[want]))
            w = want[o]
            first = np.ones(w.size, bool)
            first[1:] = tb[w][1:] != tb[w][:-1]
            r = w[first]
            eo.cue(tb[r], self.track_local.get(ids[r]), x[r, :3], x[r, 3:], t)

    def _propose(self, rs: _Rep, t: float, p: Any, gid: int) -> None:
        eid = len(rs.engagements)
        local = int(self.track_local.get(np.array([gid]))[0])
        e = Engagement(eid, p.effector, local, t, p.pk, float(self.eff0.cost_usd[p.effector]),
                       p.reason, track_key=gid)
        op = self.doctrine.operator
        if self.doctrine.human_in_loop:
            u = rs.streams.uniform("operator", eid, 0, np.array([0, 1]))
            service = op.decision_time_s * math.exp(op.decision_time_sigma * float(ndtri(u[0])))
            e.t_decision_s = rs.operator.schedule(t, service)
            e.approve = bool(u[1] < op.p_approve)
        else:
            e.t_decision_s = t
        rs.eff.busy_until_s[p.effector] = np.inf  # reserved until fired or released
        rs.engagements.append(e)
        rs.open.append(e)
        deadline = t + op.timeout_s  # when progress will act on it (see _due)
        w = deadline if e.t_decision_s > deadline else e.t_decision_s
        if w < rs.wake:
            rs.wake = w
        rs.log.add(t, "proposed", track=local, effector=p.effector, engagement=eid,
                   value=p.pk, detail=f"p_nfz={p.p_nfz:.4f}")

    def progress(self, rs: _Rep, t: float) -> None:
        """Move a replication's open engagements through their state machine up to t."""
        op = self.doctrine.operator
        for e in rs.open:
            if e.state == _S.PROPOSED:
                deadline = e.t_proposed_s + op.timeout_s
                if e.t_decision_s > deadline and t >= deadline:
                    self._release(rs, e, _S.EXPIRED, deadline, "operator did not decide in time")
                elif e.t_decision_s <= t:
                    if e.approve:
                        e.to(_S.APPROVED, e.t_decision_s)
                        rs.log.add(e.t_decision_s, "approved", track=e.track,
                                   effector=e.effector, engagement=e.id)
                        e.t_fire_s = e.t_decision_s + float(self.eff0.reaction_s[e.effector])
                    else:
                        self._release(rs, e, _S.REJECTED, e.t_decision_s, "operator rejected")
            if e.state == _S.APPROVED and e.t_fire_s <= t:
                self._fire(rs, e)
            if (e.state == _S.FIRING and e.resolved
                    and e.t_hit_s + self.doctrine.kill_assessment_delay_s <= t):
                self._assess(rs, e)
        rs.open = [e for e in rs.open if e.open]
        self._due(rs)

    def _due(self, rs: _Rep) -> None:
        """Set ``rs.wake``, the earliest time at which ``progress`` can move one of the
        replication's open engagements (each of its tests solved for t), and
        ``rs.next_hit``, the earliest arrival of a projectile still in flight.

        Only ``progress`` (and ``_fire``/``_assess`` under it), ``_propose`` and the
        arrivals in ``step`` change what these depend on, and each brings them up to date,
        so a replication whose clock is before both has nothing to do there: most ticks
        most replications wait on an operator or a projectile.
        """
        timeout = self.doctrine.operator.timeout_s
        lag = self.doctrine.kill_assessment_delay_s
        wake = hit = math.inf
        for e in rs.open:
            st = e.state
            if st == _S.PROPOSED:  # expires at the deadline, or decided at t_decision
                deadline = e.t_proposed_s + timeout
                w = deadline if e.t_decision_s > deadline else e.t_decision_s
            elif st == _S.APPROVED:
                w = e.t_fire_s
            else:  # FIRING: assessed once its projectile has landed (resolved)
                w = e.t_hit_s + lag
                if not e.resolved and e.t_hit_s < hit:
                    hit = e.t_hit_s
            if w < wake:  # (a NaN time never comes: progress never acts on it either)
                wake = w
        rs.wake, rs.next_hit = wake, hit

    def _release(self, rs: _Rep, e: Engagement, state: EngagementState, t: float,
                 why: str) -> None:
        e.to(state, t, why)
        rs.eff.busy_until_s[e.effector] = t
        rs.log.add(t, state.name.lower(), track=e.track, effector=e.effector,
                   engagement=e.id, detail=why)

    def _fire(self, rs: _Rep, e: Engagement) -> None:
        trk, eff, w = self.tracker, rs.eff, e.effector
        t_f = e.t_fire_s
        ids = trk.tracks.id
        rows = np.flatnonzero(ids == e.track_key)
        if rows.size == 0 or eff.rounds[w] <= 0:
            self._release(rs, e, _S.EXPIRED, t_f, "track lost before firing")
            return
        if not bool(self.threat.get(np.array([e.track_key]))[0]):
            # e.g. the drone was captured by the spoofer and turned away after approval
            self._release(rs, e, _S.EXPIRED, t_f, "no longer a threat")
            return
        # the fire time lies within the last tick: carry the track's estimate there at
        # constant velocity (one track; the tracker's full prediction is for all of them)
        r = int(rows[0])
        tracks = trk.tracks
        dt = t_f - float(tracks.t_s[r])
        F = np.eye(6)
        F[:3, 3:] = dt * np.eye(3)
        x = self._own_xy(ids[r:r + 1], tracks.state[r:r + 1] @ F.T)
        P = F @ tracks.covariance[r] @ F.T
        P = P[None]
        ic = intercepts(eff.pos[w:w + 1], eff.speed_mps[w:w + 1], np.zeros(1),
                        eff.min_range_m[w:w + 1], eff.max_range_m[w:w + 1],
                        eff.max_alt_m[w:w + 1], eff.pk_max[w:w + 1],
                        eff.required_sigma_m[w:w + 1], eff.error_scale_m[w:w + 1],
                        eff.cross_scale_mps[w:w + 1], ~eff.gun[w:w + 1], x, P)
        if not ic.feasible[0, 0]:
            self._release(rs, e, _S.EXPIRED, t_f, "no longer in envelope")
            return
        e.to(_S.FIRING, t_f)
        e.pk_expected = float(ic.pk[0, 0])
        e.t_hit_s = t_f + float(ic.t_flight_s[0, 0])
        eff.rounds[w] -= 1
        if eff.rounds[w] == 0:
            eff.reload_done_s[w] = t_f + eff.reload_s[w]
        eff.busy_until_s[w] = t_f + eff.interval_s[w]
        # what is really there: the nearest object of this replication still flying at the
        # moment of firing (a drone killed by another shooter a moment later is still real now)
        air = self.air
        rows_b = self.rep_rows[rs.b]  # this replication's rows, ascending
        m = air.mode[rows_b]
        flying = (m != Mode.WAITING) & (m != Mode.DOWN) & (m != Mode.GONE)
        dr = rows_b < self.nd
        flying[dr] |= air.t_fate_s[rows_b[dr]] > t_f
        live = rows_b[flying]
        aim = x[0, :3]
        truth = -1
        if live.size:
            d = _distances(air.pos, live, aim)
            j = int(np.argmin(d))
            if d[j] <= _GATE_TRUTH_M + 3 * float(ic.sigma_m[0, 0]):
                truth = int(live[j])
        e.target_row = truth
        kind = int(air.kind[truth]) if truth >= 0 else -1
        rs.log.add(t_f, "fired", drone=self.local_drone(truth), track=e.track,
                   effector=w, engagement=e.id, xyz=ic.point[0, 0], value=e.cost_usd,
                   detail=eff.names[w])
        if kind == Kind.BIRD:
            rs.counts["shots_at_birds"] += 1
            rs.log.add(t_f, "shot_at_bird", track=e.track, effector=w, engagement=e.id)
        elif kind == Kind.OWN:
            rs.counts["shots_at_own"] += 1
            rs.log.add(t_f, "shot_at_own", track=e.track, effector=w, engagement=e.id)
        elif truth < 0:
            rs.counts["false_track_shots"] += 1
        e.aim_point = tuple(float(v) for v in ic.point[0, 0])

    def resolve_hit(self, rs: _Rep, e: Engagement) -> None:
        """The projectile arrives at e.t_hit_s: kill or miss, and where things fall."""
        air, k = self.air, e.target_row
        e.resolved = True
        u = rs.streams.uniform("kill", e.id, 0, np.array([0, 1, 2, 3]))
        e.hit = bool(k >= 0 and air.airborne[k] and u[0] < e.pk_expected)
        w = e.effector
        if e.hit:
            pos, vel = air.pos[k].copy(), air.vel[k].copy()
            if k < self.nd:
                air.shoot_down(k, e.t_hit_s)
                rs.log.add(e.t_hit_s, "killed", drone=self.local_drone(k), track=e.track,
                           effector=w, engagement=e.id, xyz=pos, detail=self.eff0.names[w])
            else:
                air.mode[k] = Mode.DOWN
                air.vel[k] = 0.0
                rs.counts["birds_killed" if air.kind[k] == Kind.BIRD else "own_killed"] += 1
                rs.log.add(e.t_hit_s, "killed", track=e.track, effector=w, engagement=e.id,
                           xyz=pos, detail=Kind.NAMES[int(air.kind[k])])
            fall = self.nfz.sample_debris(pos, vel, rs.wind, u[1:3]) if self.nfz else None
            if fall is not None and self.nfz.contains(fall[None])[0]:
                rs.counts["nfz_impacts"] += 1
                rs.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                           xyz=(*fall, 0.0), detail="debris")
        else:
            rs.log.add(e.t_hit_s, "missed", drone=self.local_drone(k), track=e.track,
                       effector=w, engagement=e.id)
            if self.nfz and self.eff0.gun[w]:
                p = self.nfz.p_rounds(self.eff0.pos[w], np.asarray(e.aim_point),
                                      np.array(self.eff0.round_max_range_m[w]))
                if u[3] < p:
                    rs.counts["nfz_impacts"] += 1
                    rs.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                               detail="rounds")

    def _assess(self, rs: _Rep, e: Engagement) -> None:
        t = e.t_hit_s + self.doctrine.kill_assessment_delay_s
        u = float(rs.streams.uniform("kill-assessment", e.id, 0))
        right = u < self.doctrine.kill_assessment_p_correct
        said_killed = e.hit == right
        e.result = "killed" if said_killed else "missed"
        e.to(_S.ASSESSED, t, e.result)
        rs.log.add(t, "assessed", track=e.track, effector=e.effector, engagement=e.id,
                   detail=e.result)
        if said_killed:
            self.tracker.drop([e.track_key])

    # ------------------------------------------------------------------ the loop
    def run(self) -> list[SimResult]:
        sc, air, tick = self.sc, self.air, self.tick
        for rs in self.reps:
            for k in range(rs.nd):
                rs.log.add(float(air.t_start_s[rs.d0 + k]), "launched", drone=k,
                           xyz=air.launch[rs.d0 + k])
        duration = float(sc.duration_s)
        n = 0  # tick index: the block's clock is n · tick (a fixed grid, no accumulation)
        while True:
            t = min(n * tick, duration)
            # replications whose skip ends now: move their world over the skipped time
            for rs in self.reps:
                if rs.frozen_until == n:
                    rs.frozen_until = -1
                    m = np.zeros(self.B, bool)
                    m[rs.b] = True
                    self.advance(rs.t, t, m)
                    for s in self.radars + self.points:
                        s.skip_to(m, t)
                    rs.t = t
            awake = np.array([not rs.finished and rs.frozen_until < 0 for rs in self.reps])
            bs = np.flatnonzero(awake)
            if bs.size:
                # end of run, or a replication whose clock has reached the end
                end = self.finished_mask(bs) | (t >= duration - 1e-9)
                for b in bs[end]:
                    self._finish(self.reps[b])
                bs = bs[~end]
            if bs.size:
                t_q = self.quiet_until(t, bs)
                n_q = np.floor(t_q / tick + 1e-9).astype(np.int64)
                skip = n_q > n + 1
                if skip.any():
                    m = np.zeros(self.B, bool)
                    m[bs[skip]] = True
                    self.drop_tracks(m)  # nothing can be sensed until then: tracks coast out
                    for b, nq in zip(bs[skip], n_q[skip], strict=True):
                        self.reps[b].frozen_until = int(nq)
                    bs = bs[~skip]
            if bs.size == 0:
                waiting = [rs.frozen_until for rs in self.reps if rs.frozen_until >= 0]
                if not waiting:
                    break
                n = min(waiting)
                continue
            step_b = np.zeros(self.B, bool)
            step_b[bs] = True
            t1 = min((n + 1) * tick, duration)
            self.step(t, t1, step_b)
            for b in bs:
                self.reps[b].t = t1
                self.reps[b].steps += 1
            n += 1
        return [rs.result for rs in self.reps if rs.result is not None]

    def step(self, t: float, t1: float, step_b: NDArray[np.bool_]) -> None:
        # projectiles landing inside this tick: move that replication to each arrival first
        moved = np.zeros(self.B, bool)
        for b in np.flatnonzero(step_b):
            rs = self.reps[b]
            if not t1 >= rs.next_hit:  # nothing of this replication lands by t1
                continue
            hits = sorted((e for e in rs.open if e.state == _S.FIRING and not e.resolved
                           and e.t_hit_s <= t1), key=lambda e: e.t_hit_s)
            if not hits:
                continue
            m = np.zeros(self.B, bool)
            m[b] = True
            t_cur = t
            for e in hits:
                if e.t_hit_s > t_cur:
                    self.advance(t_cur, e.t_hit_s, m)
                    t_cur = e.t_hit_s
                self.resolve_hit(rs, e)
            self.advance(t_cur, t1, m)
            moved[b] = True
            self._due(rs)
        self.advance(t, t1, step_b & ~moved)
        # magazines reloaded
        reload = (step_b[:, None] & self.eff0.kinetic[None, :] & (self.rounds == 0)
                  & (self.reload_done <= t1))
        if reload.any():
            self.rounds[reload] = np.broadcast_to(self.eff0.magazine, self.rounds.shape)[reload]
            self.reload_done[reload] = np.inf
        self.electronic_warfare(t1, step_b)
        self.sense_and_track(t1, step_b)
        # engagements move only when something is due (see _due)
        active = [self.reps[b] for b in np.flatnonzero(step_b)]
        for rs in active:
            if t1 >= rs.wake:
                self.progress(rs, t1)
        self.decide(t1, step_b)
        for rs in active:
            if t1 >= rs.wake:
                self.progress(rs, t1)
        if self.record:
            self._trace(t1, step_b)

    def _trace(self, t: float, step_b: NDArray[np.bool_]) -> None:
        air = self.air
        tr = self.tracker.tracks
        conf = np.flatnonzero(tr.confirmed)
        tb = self.track_block.get(tr.id[conf])
        for b in np.flatnonzero(step_b):
            live = np.flatnonzero(air.airborne & (self.row_block == b))
            c = conf[tb == b]
            pos = tr.position[c].copy()
            pos[:, 0] -= self.slot_off[b]
            self.reps[b].trace_rows.append((
                np.full(live.size, t), self.row_local[live], air.pos[live].copy(),
                np.full(c.size, t), self.track_local.get(tr.id[c]), pos,
            ))

    def _finish(self, rs: _Rep) -> None:
        rs.finished = True
        m = np.zeros(self.B, bool)
        m[rs.b] = True
        self.drop_tracks(m)
        for e in rs.engagements:  # the replication's own numbering, as when it runs alone
            e.target_row = self.local_drone(e.target_row) if e.target_row < self.nd else int(
                self.row_local[e.target_row])
            e.track_key = e.track
        rs.result = self.result(rs, rs.t)

    def result(self, rs: _Rep, t_end: float) -> SimResult:
        air, nd, sl = self.air, rs.nd, slice(rs.d0, rs.d0 + rs.nd)
        fate = air.fate[sl]
        hits = [r for r in rs.log.rows if r[2] == "asset_hit"]
        fired = [e for e in rs.engagements if not math.isnan(e.t_fire_s)
                 and e.state in (_S.FIRING, _S.ASSESSED)]
        shots = {n: 0 for n in self.eff0.names}
        cost = {n: 0.0 for n in self.eff0.names}
        for e in fired:
            shots[self.eff0.names[e.effector]] += 1
            cost[self.eff0.names[e.effector]] += e.cost_usd
        # intruders: analytic (perimeter sensors)
        intr = intrusions(self.sc, self.frame, rs.streams, rs.log)
        kill_margin = []
        for k in np.flatnonzero(fate == Fate.SHOT_DOWN) + rs.d0:
            tgt = self.asset_enu[self.info.target_asset[k]]
            kill_margin.append(np.linalg.norm(air.impact[k, :2] - tgt[:2]) / air.speed_mps[k])
        chain = {}
        for name, arr in (("detect", self.t_detect), ("confirm", self.t_confirm),
                          ("identify", self.t_identify)):
            lead = arr[sl] - air.t_start_s[sl]
            chain[f"t_{name}_after_launch_s"] = float(np.nanmean(lead)) if np.isfinite(
                lead).any() else math.nan
        rows_b = self.row_block == rs.b
        out: dict[str, float] = {
            "drones": float(nd),
            "shot_down": float(np.sum(fate == Fate.SHOT_DOWN)),
            "forced_down": float(np.sum((fate == Fate.LANDED) | (fate == Fate.CRASHED))),
            "forced_down_crashed": float(np.sum(fate == Fate.CRASHED)),
            "forced_down_landed": float(np.sum(fate == Fate.LANDED)),
            "leaked": float(np.sum(fate == Fate.ATTACKED)),
            "returned": float(np.sum(fate == Fate.RETURNED)),
            "still_flying": float(np.sum(air.airborne[sl] | (air.mode[sl] == Mode.WAITING))),
            "spoofed": float(np.sum(air.spoofed_by[sl] >= 0)),
            "assets_hit": float(len({r[11] for r in hits})),
            "any_asset_hit": float(bool(hits)),
            "damage_value": float(sum(r[10] for r in hits)),
            "shots": float(len(fired)),
            "cost_usd": float(sum(cost.values())),
            "shots_at_birds": float(rs.counts["shots_at_birds"]),
            "shots_at_own": float(rs.counts["shots_at_own"]),
            "false_track_shots": float(rs.counts["false_track_shots"]),
            "own_aircraft_jammed": float(self.own_jammed[rows_b].sum()),
            "nfz_impacts": float(rs.counts["nfz_impacts"]),
            "detected": float(np.isfinite(self.t_detect[sl]).sum()),
            "mean_kill_margin_s": float(np.mean(kill_margin)) if kill_margin else math.nan,
            **chain,
            **intr,
        }
        # leakers per asset aimed at (a leaker may still miss: assets_hit counts damage)
        aimed = self.info.target_asset[sl][fate == Fate.ATTACKED]
        for a, name in enumerate(self.asset_names):
            out[f"leaked:{name}"] = float(np.sum(aimed == a))
        trace = None
        if self.record and rs.trace_rows:
            cols = list(zip(*rs.trace_rows, strict=True))
            kind = np.empty(int(rows_b.sum()), air.kind.dtype)
            kind[self.row_local[rows_b]] = air.kind[rows_b]
            trace = {
                "truth_t": np.concatenate(cols[0]), "truth_row": np.concatenate(cols[1]),
                "truth_pos": np.concatenate(cols[2]), "track_t": np.concatenate(cols[3]),
                "track_id": np.concatenate(cols[4]), "track_pos": np.concatenate(cols[5]),
                "truth_kind": kind,
            }
        return SimResult(self.sc.name, rs.rep, self.seed, out, rs.log.table(),
                         shots, cost, rs.steps, t_end, trace, rs.engagements)


def simulate_block(scenario: Scenario | str, replications: list[int], *,
                   seed: int | None = None, record: bool = False) -> list[SimResult]:
    """Run replications in lock-step (at most 64, distinct modulo 64); results in order.

    Each result is identical to what :func:`simulate` gives for that replication alone.
    """
    sc = load_scenario(scenario) if isinstance(scenario, str) else scenario
    return _Block(sc, list(replications), sc.seed if seed is None else seed, record).run()


def simulate(scenario: Scenario | str, replication: int = 0, *, seed: int | None = None,
             record: bool = False) -> SimResult:
    """Run one replication. ``seed`` defaults to the scenario's; ``record`` keeps a trace."""
    return simulate_block(scenario, [replication], seed=seed, record=record)[0]
