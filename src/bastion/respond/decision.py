"""The decision stage: one epoch of the doctrine for every group at once.

Both drivers call :meth:`DecisionStage.epoch` with the confirmed tracks of the moment, each
row tagged with its *group* (the replication's position in a lock-step block in analysis,
the site live). Groups never mix: every rule below works row by row or group by group, so
a group's decision is the same whether it is decided alone or among 64 others
(``tests/respond/test_conformance.py`` checks it).

One epoch, in order:

1. identification (``assess.classify``, with each track's running heading rate from
   ``ManoeuvreMemory``) and threat ranking of the rows anything reads;
2. EO/IR cues: per free turret and group, the most valuable uncertain track in range;
3. jammers: on while a candidate is inside their activation range (and ``JAMMER_HOLD_S``
   after), switched in the effector status;
4. point effectors, per group whose decision epoch is due: the soft-kill holds and the
   readiness and reach bounds for all groups in one vectorised pass (most epochs nothing
   is in reach), then the weapon–target assignment (``planner.assign_point_effectors``) only
   for the groups that pass.

Per-track memory (when a track entered a jammer footprint, whether it was a threat at the
last epoch) is kept by track id; per-group memory (last time a jammer was needed, next
decision epoch) by group.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from numpy.typing import NDArray

from bastion.assess import IdentModel, assess_threats, classify
from bastion.assess.identify import IFFCover, iff_silence
from bastion.assess.threat import Threats
from bastion.core.detections import K
from bastion.respond.effectors import EffectorState, EffectorStatus
from bastion.respond.memory import ManoeuvreMemory, TrackMemory
from bastion.respond.planner import (
    JAMMER_HOLD_S,
    Proposal,
    assign_point_effectors,
    candidates,
    soft_kill_hold,
    within_reach,
)
from bastion.respond.roe import NoFireZones
from bastion.scenario.schema import Doctrine

__all__ = ["Assets", "Cue", "Decision", "DecisionStage", "Turret"]

# The screen widens plan's reach bound by this fraction: its speeds are summed over other
# row sets than the per-group assignment's, which may round differently by a few ulps, and
# it must never skip a group whose assignment would get past the bound.
_REACH_SLACK = 1e-9
# ASSUMED: an EO/IR turret is cued at a track none of whose class probabilities reaches this
_CUE_BELOW_P = 0.95


@dataclass(frozen=True)
class Assets:
    """The defended assets: ENU positions (n, 3), radii (m) and values."""

    enu: NDArray[np.float64]
    radius_m: NDArray[np.float64]
    value: NDArray[np.float64]


@dataclass(frozen=True)
class Turret:
    """An EO/IR turret the stage may cue: where it stands and how far it sees."""

    pos: NDArray[np.float64]  # (3,) ENU m
    range_m: float


@dataclass(frozen=True)
class Cue:
    """Turret ``turret`` of each group in ``group`` is cued at track ``track``."""

    turret: int
    group: NDArray[np.int64]
    track: NDArray[np.int64]
    pos: NDArray[np.float64]  # (k, 3) the track's position
    vel: NDArray[np.float64]  # (k, 3)


@dataclass
class Decision:
    """What one epoch decided. Row arrays follow the tracks given to :meth:`epoch`."""

    p_class: NDArray[np.float64]  # (n, K) class posteriors (order of core.detections.CLASSES)
    candidate: NDArray[np.bool_]  # (n,) engageable under the doctrine
    threats: Threats | None
    # (group, effector, on), by group then jammer: already applied to the effector status
    switches: list[tuple[int, int, bool]] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    proposals: list[tuple[int, int, Proposal]] = field(default_factory=list)  # group, id, p


class DecisionStage:
    """The doctrine's decisions for ``n_groups`` groups sharing one scenario's site."""

    def __init__(self, doctrine: Doctrine, effectors: EffectorState, assets: Assets,
                 nfz: NoFireZones, turrets: list[Turret], n_groups: int,
                 ident: IdentModel | None = None, iff: IFFCover | None = None) -> None:
        """``ident``: the identification model (default: generic profiles, equal priors);
        ``iff``: the IFF cover, whose silence counts against own aircraft (None: unused)."""
        self.doctrine, self.eff, self.assets, self.nfz = doctrine, effectors, assets, nfz
        self.ident = ident or IdentModel.default()
        self.iff = iff if iff is not None and iff.pos.shape[0] else None
        self.turrets = turrets
        self.G = n_groups
        self.asset_xy = np.ascontiguousarray(assets.enu[:, :2]).reshape(-1, 2)
        op = doctrine.operator
        # the planner allows for the operator's mean decision time (lognormal mean)
        self.expected_delay_s = (op.decision_time_s * math.exp(op.decision_time_sigma**2 / 2)
                                 if doctrine.human_in_loop else 0.0)
        self.jam_cols = np.array([j for j, _ in effectors.jammers], np.int64)
        self.jam_act_m = np.array([j.activation_range_m for _, j in effectors.jammers], float)
        # memory: per track id, and per group
        self.soft_since = TrackMemory(np.nan, np.float64)  # when it entered a jammer footprint
        self.threat = TrackMemory(0, np.bool_)  # a candidate at the last epoch
        self.iff_since = TrackMemory(np.nan, np.float64)  # when it entered IFF cover
        self.iff_which = TrackMemory(-1, np.int64)  # the interrogator covering it
        self.manoeuvre = ManoeuvreMemory(self.ident.manoeuvre_time_s)  # heading-rate evidence
        self.last_need_s = np.full((n_groups, len(effectors.names)), -np.inf)
        self.next_decision_s = np.zeros(n_groups)

    def is_threat(self, track_id: int) -> bool:
        """Whether the track was a candidate at the last epoch (the fire check asks)."""
        return bool(self.threat.get(np.array([track_id], np.int64))[0])

    # ------------------------------------------------------------------ one epoch
    def epoch(self, t_s: float, stepping: NDArray[np.bool_], ids: NDArray[np.int64],
              group: NDArray[np.int64], x: NDArray[np.float64], P: NDArray[np.float64],
              evidence: NDArray[np.float64], status: EffectorStatus,
              turret_free: list[NDArray[np.bool_]],
              engaged: Callable[[NDArray[np.bool_]], NDArray[np.int64]],
              wind: NDArray[np.float64]) -> Decision:
        """Decide for the groups in ``stepping`` (G,) at ``t_s``.

        ``ids``, ``group``, ``x`` (n, 6), ``P`` (n, 6, 6), ``evidence`` (n, K): the confirmed
        tracks at ``t_s`` in the site's ENU frame. ``turret_free[i]`` (G,): turret i can take
        a cue. ``engaged(groups)``: ids of the tracks with an open engagement in those
        groups. ``wind`` (G, 3): the wind each group plans debris with.
        """
        G = self.G
        if stepping.shape != (G,) or group.shape != ids.shape or (
                ids.size and (group.min() < 0 or group.max() >= G)):
            raise ValueError(f"stepping must be ({G},) and every group in 0..{G - 1}")
        n = ids.size
        if n == 0:
            sw = self._switch_jammers(t_s, stepping, np.zeros(0, np.int64), np.zeros((0, 3)),
                                      status)
            return Decision(np.zeros((0, K)), np.zeros(0, bool), None, sw)
        # manoeuvre: the groups deciding now fold this epoch into their tracks' heading rate
        turn = (self.manoeuvre.observe(t_s, ids, x[:, 3:], P, stepping[group])
                if self.ident.manoeuvre_weight > 0.0 else None)
        pc = classify(x[:, 3:], P, evidence, model=self.ident, altitude_m=x[:, 2],
                      silence=self._silence(t_s, ids, x, evidence), turn_rps=turn)
        cue_rows = [(i, _cue_rows(pc, free & stepping, group, x, tr.pos, float(tr.range_m)))
                    for i, (tr, free) in enumerate(zip(self.turrets, turret_free, strict=True))
                    if (free & stepping).any()]
        threats = self._threats(x, P, pc[:, 0], [want for _, want in cue_rows])
        cand = candidates(self.doctrine, pc[:, 0], np.ones(n, bool), threats)
        self.threat.set(ids, cand)
        out = Decision(pc, cand, threats)
        out.switches = self._switch_jammers(t_s, stepping, group[cand], x[cand, :3], status)
        out.cues = self._cues(cue_rows, ids, group, x, threats)
        # per group: one decision epoch of the doctrine every decision period
        has = np.zeros(G, bool)
        has[group] = True
        due = stepping & has & (t_s + 1e-9 >= self.next_decision_s)
        self.next_decision_s[due] = t_s + self.doctrine.decision_period_s
        c_g = np.bincount(group[cand], minlength=G) > 0
        # something to propose, or a jammer footprint to time (soft_since)
        called = due & (c_g | status.radiating.any(axis=1))
        if not called.any():
            return out
        go, now_ok, later, soft = self._screen(t_s, called, ids, group, x, cand, threats,
                                               status, engaged)
        for g in np.flatnonzero(go):  # about one group an epoch, often none
            sub = np.flatnonzero(group == g)
            props = assign_point_effectors(
                t_s, self.doctrine, status.view(self.eff, int(g)), x[sub], P[sub], now_ok[sub],
                later[sub], _take_threats(threats, sub), self.nfz, wind[g],
                self.expected_delay_s, self.asset_xy)
            self.soft_since.set(ids[sub], soft[sub])
            out.proposals += [(int(g), int(ids[sub[p.track_row]]), p) for p in props]
        return out

    def _silence(self, t_s: float, ids: NDArray[np.int64], x: NDArray[np.float64],
                 evidence: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """IFF-silence log-likelihoods of the tracks (None without IFF): each track's time
        in cover counts from the first epoch it was seen inside an interrogator's range."""
        if self.iff is None:
            return None
        since = self.iff_since.get(ids)
        which = self.iff_which.get(ids)
        cov = self.iff.covers(x[:, :3])
        new = np.isnan(since) & (cov >= 0)
        if new.any():
            since[new], which[new] = t_s, cov[new]
            self.iff_since.set(ids[new], since[new])
            self.iff_which.set(ids[new], which[new])
        return iff_silence(self.iff, self.ident.p_transponder_belief, t_s, since, which,
                           evidence)

    def _screen(self, t_s: float, called: NDArray[np.bool_], ids: NDArray[np.int64],
                group: NDArray[np.int64], x: NDArray[np.float64], cand: NDArray[np.bool_],
                threats: Threats, status: EffectorStatus,
                engaged: Callable[[NDArray[np.bool_]], NDArray[np.int64]]
                ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_],
                           NDArray[np.float64]]:
        """The holds and bounds in front of the assignment, for the ``called`` groups at once.

        Updates soft_since for them and returns (groups whose assignment can propose, rows
        engageable now, rows held for a jammer, soft_since per row). The two row masks are
        exact for the rows of the groups returned.
        """
        m = called[group]
        soft = self.soft_since.get(ids)
        # Only rows whose group has a jammer radiating can be inside a footprint or be held
        # for one (soft_kill_hold works row by row), so only those are worked out.
        sel = np.flatnonzero(m & status.radiating[:, self.jam_cols].any(axis=1)[group])
        hold = np.zeros(ids.size, bool)
        if sel.size:
            soft_s = soft[sel]
            hold[sel] = soft_kill_hold(t_s, self.doctrine, self.eff, status.radiating[group[sel]],
                                       x[sel, :2], self.asset_xy, threats.asset[sel],
                                       threats.time_to_go_s[sel], soft_s, x[sel, 3:5])
            soft[sel] = soft_s
            self.soft_since.set(ids[sel], soft_s)
        ready = status.ready(self.eff, t_s)
        # rows engageable now, less the busy tracks: those come from the engagement book,
        # asked only for the groups still in the running
        now_ok = cand & m & ~hold & ready.any(axis=1)[group]
        maybe = np.zeros(self.G, bool)
        maybe[group[now_ok]] = True
        busy = self._engaged_rows(engaged(maybe), ids, group, maybe)
        now_ok &= ~busy
        later = cand & m & hold & ~busy
        r = np.flatnonzero(now_ok)
        go = np.zeros(self.G, bool)
        if r.size == 0:
            return go, now_ok, later, soft
        kin = np.flatnonzero(self.eff.kinetic)
        delay = self.eff.reaction_s[kin] + self.expected_delay_s
        near = within_reach(self.eff, kin, delay, x[r, :2], np.linalg.norm(x[r, 3:], axis=1),
                            slack=_REACH_SLACK)
        go[group[r[(near & ready[group[r]][:, kin].T).any(axis=0)]]] = True
        return go, now_ok, later, soft

    @staticmethod
    def _engaged_rows(keys: NDArray[np.int64], ids: NDArray[np.int64],
                      group: NDArray[np.int64], groups: NDArray[np.bool_]) -> NDArray[np.bool_]:
        if keys.size == 0:
            return np.zeros(ids.size, bool)
        # track ids are unique across groups and an engagement's track is its own group's,
        # so matching the ids alone matches (group, track) pairs
        return np.isin(ids, keys) & groups[group]

    def _switch_jammers(self, t_s: float, stepping: NDArray[np.bool_],
                        cand_group: NDArray[np.int64], cand_pos: NDArray[np.float64],
                        status: EffectorStatus) -> list[tuple[int, int, bool]]:
        """Jammers radiate while a candidate is inside their activation range (and for
        ``JAMMER_HOLD_S`` after); the switches are applied to ``status`` and returned."""
        cols = self.jam_cols
        if cols.size == 0:
            return []
        if cand_group.size:
            need = _jammer_need(cand_group, cand_pos, self.eff.pos[cols], self.jam_act_m,
                                self.G)
            gg, qq = np.nonzero(need & stepping[:, None])
            self.last_need_s[gg, cols[qq]] = t_s
        want = (t_s - self.last_need_s[:, cols]) <= JAMMER_HOLD_S
        change = stepping[:, None] & (want != status.radiating[:, cols])
        out = []
        for g, q in zip(*np.nonzero(change), strict=True):  # by group, then jammer
            j = int(cols[q])
            status.radiating[g, j] = want[g, q]
            out.append((int(g), j, bool(want[g, q])))
        return out

    def _threats(self, x: NDArray[np.float64], P: NDArray[np.float64],
                 p_hostile: NDArray[np.float64], cue_rows: list[NDArray[np.int64]]) -> Threats:
        """Threats of the rows anything reads: possible candidates (P(hostile) above the
        doctrine's threshold) and the tracks a turret may be cued at. Every other row reads
        as no threat (P(reaches) 0, time-to-go inf): none of them can be a candidate
        whatever its P(reaches), and the planner acts on candidates only. assess_threats
        works row by row, so the rows computed are exactly as if all were. About one track
        in ten is a possible candidate (the rest are mostly birds).
        """
        n = x.shape[0]
        a = self.assets
        ones = np.ones(n)
        need = candidates(self.doctrine, p_hostile, np.ones(n, bool),
                          Threats(np.zeros(n, np.int64), ones, ones, ones, np.arange(n)))
        for want in cue_rows:
            need[want] = True
        r = np.flatnonzero(need)
        if r.size == n:
            return assess_threats(x[:, :3], x[:, 3:], P, p_hostile, self.asset_xy, a.radius_m,
                                  a.value)
        th = assess_threats(x[r, :3], x[r, 3:], P[r], p_hostile[r], self.asset_xy, a.radius_m,
                            a.value)
        asset = np.zeros(n, np.int64)
        p_reach = np.zeros(n)
        ttg = np.full(n, np.inf)
        value = np.zeros(n)
        asset[r], p_reach[r], ttg[r], value[r] = th.asset, th.p_reach, th.time_to_go_s, th.value
        return Threats(asset, p_reach, ttg, value, np.argsort(ttg, kind="stable"))

    @staticmethod
    def _cues(cue_rows: list[tuple[int, NDArray[np.int64]]], ids: NDArray[np.int64],
              group: NDArray[np.int64], x: NDArray[np.float64], threats: Threats) -> list[Cue]:
        out = []
        for i, want in cue_rows:
            if want.size == 0:
                continue
            # per group, the most valuable uncertain track (first on ties, by row)
            o = np.lexsort((want, -threats.value[want], group[want]))
            w = want[o]
            first = np.ones(w.size, bool)
            first[1:] = group[w][1:] != group[w][:-1]
            r = w[first]
            out.append(Cue(i, group[r], ids[r], x[r, :3], x[r, 3:]))
        return out


def _take_threats(th: Threats, rows: NDArray[np.int64]) -> Threats:
    ttg = th.time_to_go_s[rows]
    return Threats(th.asset[rows], th.p_reach[rows], ttg, th.value[rows],
                   np.argsort(ttg, kind="stable"))


@nb.njit(cache=True, error_model="numpy")
def _jammer_need(cand_g, cand_pos, jam_pos, act_m, n_g):  # pragma: no cover - compiled
    # (group, jammer): some candidate of the group is within the jammer's activation range
    # (horizontal distance, sqrt(dx² + dy²) as np.linalg.norm computes it)
    need = np.zeros((n_g, jam_pos.shape[0]), np.bool_)
    for i in range(cand_g.shape[0]):
        for q in range(jam_pos.shape[0]):
            dx = cand_pos[i, 0] - jam_pos[q, 0]
            dy = cand_pos[i, 1] - jam_pos[q, 1]
            if math.sqrt(dx * dx + dy * dy) <= act_m[q]:
                need[cand_g[i], q] = True
    return need


@nb.njit(cache=True, error_model="numpy")
def _cue_rows(pc, free, group, x, eo_pos, range_m):  # pragma: no cover - compiled
    # Rows whose group's turret is free, whose largest class probability is below
    # _CUE_BELOW_P (np.max: a NaN row is never below) and whose distance to the turret,
    # sqrt(dx² + dy² + dz²) as np.linalg.norm sums it, is within range; ascending.
    n, k_ = pc.shape
    out = np.empty(n, np.int64)
    c = 0
    for i in range(n):
        if not free[group[i]]:
            continue
        mx = pc[i, 0]
        for j in range(1, k_):
            v = pc[i, j]
            if mx != mx or v != v:
                mx = np.nan
            elif v > mx:
                mx = v
        if not mx < _CUE_BELOW_P:
            continue
        dx = x[i, 0] - eo_pos[0]
        dy = x[i, 1] - eo_pos[1]
        dz = x[i, 2] - eo_pos[2]
        if math.sqrt(dx * dx + dy * dy + dz * dz) <= range_m:
            out[c] = i
            c += 1
    return out[:c]
