"""Simulated effects: what the decisions do to the world in analysis.

* :class:`SimWeapons` — the engagement book's effector port: a reserved effector is busy, a
  shot uses a round (and starts a reload when the magazine empties), finds what is really
  at the aim point, lands at its predicted time as a kill or a miss drawn from its Pk,
  drops debris or stray rounds that may fall in a no-fire zone, and is assessed after a
  delay, correctly with ``kill_assessment_p_correct``.
* :func:`electronic_warfare` — radiating jammers deny GNSS (drones then take their
  fail-safe after the lock-loss timeout) and spoofers capture drones and lead them off.
* :func:`world_events` — drones that ended their flight this tick: logged with their miss
  distance (``value``: metres from where they came down to their target asset), a warhead
  that goes off within an asset's radius plus the airframe's ``lethal_radius_m`` hits it
  (one ``asset_hit`` per drone and asset: two drones on one asset count twice), and one
  that comes down in a no-fire zone is an ``nfz_impact`` whatever brought it down.

Every ``nfz_impact`` carries its source in ``detail`` (debris, rounds, forced_landing,
crash, leaker, out_of_fuel) and the zone's index in ``value`` (-1 when only its probability
is known: a missed round's).

Truth rows and pre-drawn outcomes live here, never on the engagement record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from bastion.respond.engagement import Engagement
from bastion.respond.jamming import blanked, js_db, link_js_db
from bastion.respond.ports import StatusWeapons
from bastion.scenario.schema import Jammer
from bastion.sim.kernels import distances
from bastion.sim.world import Fate, Kind, Mode, Nav

if TYPE_CHECKING:  # pragma: no cover
    from bastion.sim.engine import _Block

__all__ = ["SimWeapons", "close_own_jamming", "electronic_warfare", "world_events"]

_GATE_TRUTH_M = 150.0  # a shot aimed at a track hits the real object within this of it
# ASSUMED own-aircraft GNSS receiver (military, better than a hobby drone's)
_OWN_RX = {"g_rx_dbi": -5.0, "signal_dbw": -160.0, "threshold_db": 45.0, "gnss_mhz": 1575.42}


@dataclass
class Shot:
    """A shot in the simulated world: what it was really aimed at and how it ended."""

    engagement: Engagement
    target_row: int  # world row of the object really there, -1 for none
    aim_point: tuple[float, float, float]
    hit: bool = False
    resolved: bool = False  # it has arrived (hit or miss decided)


class SimWeapons(StatusWeapons):
    """Effector port of the engagement book over a block's world."""

    def __init__(self, blk: _Block) -> None:
        super().__init__(blk.eff0, blk.status, [rs.log for rs in blk.reps])
        self.blk = blk
        self.shots: list[dict[int, Shot]] = [{} for _ in range(blk.B)]
        self.next_hit = np.full(blk.B, math.inf)  # per group: earliest arrival in flight

    def fired(self, group: int, e: Engagement, t_s: float, track_pos: NDArray[np.float64],
              sigma_m: float, aim_point: NDArray[np.float64]) -> None:
        # what is really there: the nearest object of this replication still flying at the
        # moment of firing (a drone killed by another shooter a moment later is still real now)
        blk, w = self.blk, e.effector
        air, rs = blk.air, blk.reps[group]
        rows_b = blk.rep_rows[group]  # this replication's rows, ascending
        m = air.mode[rows_b]
        flying = (m != Mode.WAITING) & (m != Mode.DOWN) & (m != Mode.GONE)
        dr = rows_b < blk.nd
        flying[dr] |= air.t_fate_s[rows_b[dr]] > t_s
        live = rows_b[flying]
        truth = -1
        if live.size:
            d = distances(air.pos, live, track_pos)
            j = int(np.argmin(d))
            if d[j] <= _GATE_TRUTH_M + 3 * sigma_m:
                truth = int(live[j])
        kind = int(air.kind[truth]) if truth >= 0 else -1
        rs.log.add(t_s, "fired", drone=blk.local_drone(truth), track=e.track, effector=w,
                   engagement=e.id, xyz=aim_point, value=e.cost_usd, detail=self.eff.names[w])
        if kind == Kind.BIRD:
            rs.log.add(t_s, "shot_at_bird", track=e.track, effector=w, engagement=e.id)
        elif kind == Kind.OWN:
            rs.log.add(t_s, "shot_at_own", track=e.track, effector=w, engagement=e.id)
        self.shots[group][e.id] = Shot(e, truth, tuple(float(v) for v in aim_point))
        self.next_hit[group] = min(self.next_hit[group], e.t_hit_s)

    def arrivals(self, group: int, t1_s: float) -> list[Shot]:
        """Shots of the group in flight that arrive by ``t1_s``, in order of arrival."""
        if not t1_s >= self.next_hit[group]:
            return []
        return sorted((s for s in self.shots[group].values()
                       if not s.resolved and s.engagement.t_hit_s <= t1_s),
                      key=lambda s: (s.engagement.t_hit_s, s.engagement.id))

    def resolve(self, group: int, shot: Shot) -> None:
        """The shot arrives at its t_hit_s: kill or miss, and where things fall."""
        blk, e = self.blk, shot.engagement
        air, k, rs, nfz = blk.air, shot.target_row, blk.reps[group], blk.nfz
        shot.resolved = True
        u = rs.streams.uniform("kill", e.id, 0, np.array([0, 1, 2, 3]))
        shot.hit = bool(k >= 0 and air.airborne[k] and u[0] < e.pk_expected)
        w = e.effector
        if shot.hit:
            pos, vel = air.pos[k].copy(), air.vel[k].copy()
            if k < blk.nd:
                air.shoot_down(k, e.t_hit_s)
                rs.log.add(e.t_hit_s, "killed", drone=blk.local_drone(k), track=e.track,
                           effector=w, engagement=e.id, xyz=pos, detail=blk.eff0.names[w],
                           value=_miss_m(blk, k, pos))
            else:
                air.mode[k] = Mode.DOWN
                air.vel[k] = 0.0
                rs.log.add(e.t_hit_s, "killed", track=e.track, effector=w, engagement=e.id,
                           xyz=pos, detail=Kind.NAMES[int(air.kind[k])])
            fall = nfz.sample_debris(pos, vel, blk.winds[group], u[1:3]) if nfz else None
            if fall is not None and nfz.contains(fall[None])[0]:
                rs.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                           xyz=(*fall, 0.0), detail="debris", value=nfz.zone_of(fall))
        else:
            rs.log.add(e.t_hit_s, "missed", drone=blk.local_drone(k), track=e.track,
                       effector=w, engagement=e.id)
            if nfz and blk.eff0.gun[w]:
                p = nfz.p_rounds(blk.eff0.pos[w], np.asarray(shot.aim_point),
                                 np.array(blk.eff0.round_max_range_m[w]))
                if u[3] < p:
                    rs.log.add(e.t_hit_s, "nfz_impact", effector=w, engagement=e.id,
                               detail="rounds")
        self.next_hit[group] = min((s.engagement.t_hit_s for s in self.shots[group].values()
                                    if not s.resolved), default=math.inf)

    def assess(self, group: int, e: Engagement, t_s: float) -> str | None:
        shot = self.shots[group][e.id]
        if not shot.resolved:
            return None
        u = float(self.blk.reps[group].streams.uniform("kill-assessment", e.id, 0))
        right = u < self.blk.doctrine.kill_assessment_p_correct
        return "killed" if shot.hit == right else "missed"


def _miss_m(blk: _Block, k: int, pos: NDArray[np.float64]) -> float:
    """Horizontal distance from ``pos`` to drone row k's target asset, m."""
    tgt = blk.assets.enu[int(blk.info.target_asset[k])]
    return float(math.hypot(float(pos[0]) - tgt[0], float(pos[1]) - tgt[1]))


_NFZ_SOURCE = {Fate.ATTACKED: "leaker", Fate.LANDED: "forced_landing",
               Fate.CRASHED: "crash", Fate.OUT_OF_FUEL: "out_of_fuel"}


def world_events(blk: _Block, ended: list[tuple[int, int, float]]) -> None:
    """Log drones that ended their flight (value: miss distance to their target, m); a
    warhead that goes off may hit assets; one that comes down in a no-fire zone is logged."""
    air = blk.air
    for k, fate, t_s in ended:
        rs = blk.reps[int(blk.row_block[k])]
        pos = air.impact[k]
        kl = blk.local_drone(k)
        miss = _miss_m(blk, k, pos)
        if fate == Fate.ATTACKED:
            rs.log.add(t_s, "leaked", drone=kl, xyz=pos, value=miss)
        elif fate in (Fate.LANDED, Fate.CRASHED):
            rs.log.add(t_s, "forced_down", drone=kl, xyz=pos, value=miss,
                       detail="crashed" if fate == Fate.CRASHED else "landed")
        elif fate == Fate.RETURNED:
            rs.log.add(t_s, "returned", drone=kl, xyz=pos, value=miss)
        elif fate == Fate.OUT_OF_FUEL:
            rs.log.add(t_s, "out_of_fuel", drone=kl, xyz=pos, value=miss)
        if fate in _NFZ_SOURCE and blk.nfz:
            zone = blk.nfz.zone_of(pos[:2])
            if zone >= 0:
                rs.log.add(t_s, "nfz_impact", drone=kl, xyz=pos, value=float(zone),
                           detail=_NFZ_SOURCE[fate])
        # a warhead that goes off (attack, or crash on the ground) may hit an asset
        if fate in (Fate.ATTACKED, Fate.CRASHED, Fate.OUT_OF_FUEL):
            sc = blk.sc
            lethal = float(sc.airframes[sc.raids[int(blk.info.raid[k])].airframe]
                           .lethal_radius_m)
            a = blk.assets
            d = np.linalg.norm(a.enu[:, :2] - pos[:2], axis=1)
            for i in np.flatnonzero(d <= a.radius_m + lethal):
                rs.log.add(t_s, "asset_hit", drone=kl, xyz=pos, value=float(a.value[i]),
                           detail=blk.asset_names[i])


def electronic_warfare(blk: _Block, t: float, step_b: NDArray[np.bool_]) -> None:
    """Radiating jammers act, band by band, on every susceptible drone (and own aircraft)
    in reach and in line of sight, outside their blanked sectors: a band covering a GNSS
    drone's navigation frequency denies it (or, for a spoofer, captures it), a band covering
    an rf_link drone's control uplink cuts the link; both start the lock-loss clock after
    which the drone takes its fail-safe."""
    air, nd, e0 = blk.air, blk.nd, blk.eff0
    on = blk.status.radiating & step_b[:, None]
    any_on = on.any(axis=1)
    _own_aircraft(blk, t, step_b, on, any_on)
    if not any_on.any() or nd == 0:
        return
    row_b, info = blk.row_block, blk.info

    def log(k: int) -> object:
        return blk.reps[int(row_b[k])].log

    live = (air.mode[:nd] == Mode.CRUISE) & (air.gnss_susceptible | air.rf_link)
    idx0 = np.flatnonzero(live & any_on[row_b[:nd]])
    denied = np.zeros(nd, bool)
    for j, jam in e0.jammers:
        idx = idx0[on[row_b[idx0], j]]
        idx = idx[_reaches(blk, j, jam, idx)]
        if idx.size == 0:
            continue
        d = distances(air.pos, idx, e0.pos[j])
        gnss = idx[air.gnss_susceptible[idx]]
        d_g = d[air.gnss_susceptible[idx]]
        for band in jam.radiated_bands():
            # GNSS: the drones whose navigation frequency the band covers
            sel = (info.gnss_mhz[gnss] >= band.low_mhz) & (info.gnss_mhz[gnss] <= band.high_mhz)
            if sel.any():
                _gnss(blk, t, j, jam, gnss[sel], d_g[sel], denied, log)
            # control links (a spoofer imitates GNSS only)
            if jam.mode == "jam":
                link = idx[air.rf_link[idx] & (info.link_mhz[idx] >= band.low_mhz)
                           & (info.link_mhz[idx] <= band.high_mhz)]
                if link.size:
                    d_j = distances(air.pos, link, e0.pos[j])
                    d_c = np.linalg.norm(air.pos[link, :2] - air.launch[link, :2], axis=1)
                    js = link_js_db(jam.eirp_dbw, float(info.link_mhz[link][0]), d_j,
                                    info.control_eirp_dbw[link], d_c)
                    denied[link[js > info.link_js_threshold_db[link]]] = True
    newly = denied & np.isnan(air.denied_since_s) & (air.nav == Nav.GNSS)
    for k in np.flatnonzero(newly):
        log(k).add(t, "link_lost" if air.rf_link[k] else "gnss_denied",
                   drone=blk.local_drone(k), xyz=air.pos[k])
    for k, fs in air.set_denied(denied, t, any_on[row_b[:nd]]):
        log(k).add(t, "failsafe", drone=blk.local_drone(k), xyz=air.pos[k],
                   detail={Mode.LAND: "land", Mode.LOITER: "loiter", Mode.RETURN: "return",
                           Mode.CRUISE: "continue_ins"}[fs])


def _reaches(blk: _Block, j: int, jam: Jammer, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which rows a jammer's emission reaches: not in a blanked sector, nor behind terrain
    (no diffraction: a ridge between them stops it)."""
    if rows.size == 0:
        return np.zeros(0, bool)
    p = blk.eff0.pos[j]
    dx = blk.air.pos[rows, 0] - p[0]
    dy = blk.air.pos[rows, 1] - p[1]
    ok = ~blanked(np.array(jam.blank_sectors, float), dx, dy)
    prof = blk.eff0.profiles[j] if blk.eff0.profiles else None
    if prof is not None:
        ok &= prof.visible_from(p, blk.air.pos[rows])
    return ok


def _gnss(blk: _Block, t: float, j: int, jam: Jammer, idx: NDArray[np.int64],
          d: NDArray[np.float64], denied: NDArray[np.bool_], log: object) -> None:
    air, info, row_b = blk.air, blk.info, blk.row_block
    js = js_db(jam.eirp_dbw, info.gnss_mhz[idx], d, info.antenna_gain_dbi[idx],
               info.gnss_signal_dbw[idx])
    if jam.mode == "jam":
        denied[idx[js > info.js_threshold_db[idx]]] = True
        return
    inrange = idx[(js >= jam.spoof_capture_margin_db) & (air.nav[idx] == Nav.GNSS)]
    if inrange.size:
        u = blk.streams.uniform("spoof-capture", row_b[inrange], blk.row_local[inrange], j)
        push = blk.eff0.push_xy[j]
        for k in inrange[u < jam.p_capture]:
            air.spoof(int(k), push, jam.spoof_rate_mps, j)
            log(k).add(t, "spoofed", drone=blk.local_drone(k), effector=j,  # type: ignore
                       xyz=air.pos[k])
        # receivers that notice the spoof distrust GNSS: as good as denied
        denied[inrange[u >= jam.p_capture]] = True


def _own_aircraft(blk: _Block, t: float, step_b: NDArray[np.bool_], on: NDArray[np.bool_],
                  any_on: NDArray[np.bool_]) -> None:
    """Own aircraft suffer GNSS denial too: each spell from the first tick a radiating
    jammer's GNSS band denies it to the first tick none does is logged as
    ``own_aircraft_jammed`` (its start; counted once per aircraft) and
    ``own_aircraft_jam_end`` (value: its duration, s) — the cost a planner weighs."""
    air, e0 = blk.air, blk.eff0
    own = blk.own_rows
    own = own[step_b[blk.row_block[own]]]
    if own.size == 0:
        return
    m = air.mode[own]
    flying = (m != Mode.WAITING) & (m != Mode.DOWN) & (m != Mode.GONE)
    now = np.zeros(own.size, bool)
    for j, jam in e0.jammers:
        if jam.mode != "jam" or not any(b.covers(_OWN_RX["gnss_mhz"])
                                        for b in jam.radiated_bands()):
            continue
        sel = np.flatnonzero(flying & on[blk.row_block[own], j] & ~now)
        if sel.size == 0:
            continue
        rows = own[sel]
        reach = _reaches(blk, j, jam, rows)
        sel, rows = sel[reach], rows[reach]
        d = distances(air.pos, rows, e0.pos[j])
        js = js_db(jam.eirp_dbw, _OWN_RX["gnss_mhz"], d, np.full(rows.size, _OWN_RX["g_rx_dbi"]),
                   np.full(rows.size, _OWN_RX["signal_dbw"]))
        now[sel[js > _OWN_RX["threshold_db"]]] = True
    since = blk.own_jammed_since
    for i in np.flatnonzero(now & np.isnan(since[own])):
        k = int(own[i])
        since[k] = t
        if not blk.own_jammed[k]:
            blk.own_jammed[k] = True
            j = _first_on(on[blk.row_block[k]])
            blk.reps[int(blk.row_block[k])].log.add(t, "own_aircraft_jammed", effector=j,
                                                     xyz=air.pos[k])
    for i in np.flatnonzero(~now & ~np.isnan(since[own])):
        _end_spell(blk, int(own[i]), t)


def _first_on(on_row: NDArray[np.bool_]) -> int:
    hit = np.flatnonzero(on_row)
    return int(hit[0]) if hit.size else -1


def _end_spell(blk: _Block, k: int, t: float) -> None:
    since = blk.own_jammed_since
    blk.reps[int(blk.row_block[k])].log.add(t, "own_aircraft_jam_end", value=t - since[k],
                                             xyz=blk.air.pos[k])
    since[k] = np.nan


def close_own_jamming(blk: _Block, b: int, t: float) -> None:
    """End of a replication: close its own aircraft's open denial spells at ``t``."""
    own = blk.own_rows[blk.row_block[blk.own_rows] == b]
    for k in own[~np.isnan(blk.own_jammed_since[own])]:
        _end_spell(blk, int(k), t)
