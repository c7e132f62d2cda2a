"""Same reports, same decisions: compare a live driver's confirmed tracks and proposals with
the simulator's on the replication whose reports it was fed (tests/live/test_driver.py
in-process, tests/live/test_feed_serve_parity.py over real sockets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bastion.live.driver import LiveDriver
from bastion.outcome.gospa import gospa

GOSPA_C_M = 500.0  # cut-off: a track farther than this from every truth is a false track


def kinds(drv: LiveDriver, kind: str) -> list[dict[str, Any]]:
    ev = drv.events().to_pylist()
    return [e for e in ev if e["kind"] == kind]


def mean_gospa(times: np.ndarray, truth_t: np.ndarray, truth_pos: np.ndarray,
               est_t: np.ndarray, est_pos: np.ndarray) -> float:
    d = [gospa(truth_pos[np.isclose(truth_t, t)], est_pos[np.isclose(est_t, t)],
               GOSPA_C_M, 2.0).distance for t in times]
    return float(np.mean(d))


def nearest_drone(trace: dict[str, np.ndarray], t: float, pos: np.ndarray) -> int:
    """The drone (local truth row) nearest ``pos`` at ``t`` in the simulator's trace."""
    at = np.isclose(trace["truth_t"], t)
    rows_ = trace["truth_row"][at]
    drone = trace["truth_kind"][rows_] == 0
    p = trace["truth_pos"][at][drone]
    return int(rows_[drone][np.argmin(np.linalg.norm(p - pos, axis=1))])


@dataclass
class Parity:
    steps: int  # simulator steps compared
    gospa_sim_m: float  # mean GOSPA of the simulator's confirmed tracks against truth
    gospa_live_m: float  # the same for the live driver's
    proposals_sim: list[tuple[int, int]]  # (target drone, effector), sorted
    proposals_live: list[tuple[int, int]]

    @property
    def gospa_rel(self) -> float:
        return abs(self.gospa_live_m - self.gospa_sim_m) / self.gospa_sim_m

    def __str__(self) -> str:
        return (f"mean GOSPA (c={GOSPA_C_M:g} m, p=2) over {self.steps} steps: simulator "
                f"{self.gospa_sim_m:.2f} m, live {self.gospa_live_m:.2f} m "
                f"({100 * self.gospa_rel:.2f} %); proposals: simulator "
                f"{len(self.proposals_sim)}, live {len(self.proposals_live)}")


def parity(sim: Any, drv: LiveDriver, offset_s: float = 0.0) -> Parity:
    """GOSPA against truth at every step the simulator recorded, and the proposals by
    target drone (the truth nearest the proposed track) and effector, of the simulator's
    result ``sim`` (``record=True``) and ``drv`` fed its reports; ``offset_s``: the
    driver's session time of the simulator's time 0 (the feed's epoch - the driver's)."""
    tr = sim.trace
    times = np.unique(tr["truth_t"])
    live = drv.tracks_table().to_pydict()
    lt = np.array(live["t_s"]) - offset_s
    lp = np.c_[live["x_m"], live["y_m"], live["z_m"]]
    lid = np.array(live["id"], np.int64)
    g_sim = mean_gospa(times, tr["truth_t"], tr["truth_pos"], tr["track_t"], tr["track_pos"])
    g_live = mean_gospa(times, tr["truth_t"], tr["truth_pos"], lt, lp)

    def target(t: float, track: int, tt: np.ndarray, tid: np.ndarray, tp: np.ndarray) -> int:
        at = np.flatnonzero(np.isclose(tt, t) & (tid == track))
        return nearest_drone(tr, t, tp[at[0]])

    sim_props = sorted((target(e["t_s"], e["track"], tr["track_t"], tr["track_id"],
                               tr["track_pos"]), e["effector"])
                       for e in sim.events.to_pylist() if e["kind"] == "proposed")
    live_props = sorted((target(e["t_s"] - offset_s, e["track"], lt, lid, lp), e["effector"])
                        for e in kinds(drv, "proposed"))
    return Parity(int(times.size), g_sim, g_live, sim_props, live_props)
