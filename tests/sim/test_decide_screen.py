"""The decision pre-pass skips only plan calls that would propose nothing."""

from __future__ import annotations

from collections import deque

import pytest
from tests.conftest import small_scenario
from tests.sim.test_determinism import assert_same_runs

from bastion.sim import engine


def _run_unscreened(monkeypatch: pytest.MonkeyPatch, sc, reps: list[int]):
    """Run with plan called for every replication the pre-pass considers (as before the
    pre-pass existed), checking that each call it would have skipped returns []."""
    screened = engine._Block._screen
    expected: deque[bool] = deque()
    skipped = []

    def screen(self, t, called, ids, tb, *args):
        go, _, soft = screened(self, t, called, ids, tb, *args)
        expected.extend(bool(g) for g in go[called])
        # the pre-pass works out busy tracks only where it needs them: here, everywhere
        return called.copy(), self._busy_rows(called, ids, tb), soft

    real_plan = engine.plan

    def plan(*args, **kwargs):
        out = real_plan(*args, **kwargs)
        if not expected.popleft():
            skipped.append(out)
        return out

    monkeypatch.setattr(engine._Block, "_screen", screen)
    monkeypatch.setattr(engine, "plan", plan)
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
    assert skipped, "the pre-pass should have skipped some calls"
    assert all(out == [] for out in skipped)
    assert sum(len(r.engagements) for r in base) > 0
    assert_same_runs(base, full)
    for a, b in zip(base, full, strict=True):
        assert [e.pk_expected for e in a.engagements] == [e.pk_expected for e in b.engagements]
