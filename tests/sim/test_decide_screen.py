"""The decision stage's screen skips only assignments that would propose nothing."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from tests.conftest import small_scenario
from tests.sim.test_determinism import assert_same_runs

from bastion.respond import decision
from bastion.sim import engine


def _run_unscreened(monkeypatch: pytest.MonkeyPatch, sc, reps: list[int]):
    """Run with the assignment called for every group the screen considers (as if there
    were no screen), checking that each call it would have skipped returns []."""
    screened = decision.DecisionStage._screen
    expected: deque[bool] = deque()
    skipped = []

    def screen(self, t, called, ids, group, x, cand, threats, status, engaged):
        go, _, _, soft = screened(self, t, called, ids, group, x, cand, threats,
                                   status, engaged)
        expected.extend(bool(g) for g in go[called])
        # what plan() does for each group alone, here for every called group: busy tracks
        # and the soft-kill holds of every row (soft_since is already up to date: idempotent)
        m = cand & called[group]
        busy = self._engaged_rows(engaged(called), ids, group, called)
        hold = decision.soft_kill_hold(t, self.doctrine, self.eff, status.radiating[group],
                                       x[:, :2], self.asset_xy, threats.asset,
                                       threats.time_to_go_s, soft.copy(), x[:, 3:5])
        return called.copy(), m & ~busy & ~hold, m & ~busy & hold, soft

    real = decision.assign_point_effectors

    def assign(*args, **kwargs):
        out = real(*args, **kwargs)
        if not expected.popleft():
            skipped.append(out)
        return out

    monkeypatch.setattr(decision.DecisionStage, "_screen", screen)
    monkeypatch.setattr(decision, "assign_point_effectors", assign)
    res = engine.simulate_block(sc, reps)
    monkeypatch.undo()
    assert not expected
    return res, skipped


@pytest.mark.parametrize("changes", [{}, {"doctrine.soft_kill_first": False}])
def test_screen_skips_only_empty_plans(monkeypatch, changes):
    sc = small_scenario(**changes)
    reps = list(range(6))
    base = engine.simulate_block(sc, reps)
    full, skipped = _run_unscreened(monkeypatch, sc, reps)
    assert skipped, "the screen should have skipped some calls"
    assert all(out == [] for out in skipped)
    assert sum(len(r.engagements) for r in base) > 0
    assert_same_runs(base, full)
    for a, b in zip(base, full, strict=True):
        assert [e.pk_expected for e in a.engagements] == [e.pk_expected for e in b.engagements]
    assert np.isfinite([e.pk_expected for r in base for e in r.engagements]).all()
