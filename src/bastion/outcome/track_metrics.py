"""Track-quality metrics over a run: id switches and time to confirm.

Both work from the per-scan GOSPA assignment (truth → estimate), so a track counts for a truth
only while it is within the GOSPA cut-off of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["id_switches", "time_to_confirm"]


def id_switches(
    truth_ids: Iterable[NDArray[np.int64]], assigned_track_ids: Iterable[NDArray[np.int64]]
) -> int:
    """Number of times a truth's assigned track id changes from one id to another.

    ``truth_ids[k]`` (n_k,) are the truths present at scan k and ``assigned_track_ids[k]``
    (n_k,) the id of the track assigned to each (-1 if none). A gap (-1) does not count as a
    switch; coming back on a different id than before the gap does.
    """
    last: dict[int, int] = {}
    switches = 0
    for tids, aids in zip(truth_ids, assigned_track_ids, strict=True):
        for tid, aid in zip(np.asarray(tids).tolist(), np.asarray(aids).tolist(), strict=True):
            if aid < 0:
                continue
            prev = last.get(tid)
            if prev is not None and prev != aid:
                switches += 1
            last[tid] = aid
    return switches


def time_to_confirm(
    times_s: Sequence[float],
    truth_ids: Sequence[NDArray[np.int64]],
    assigned_track_ids: Sequence[NDArray[np.int64]],
    t_birth_s: dict[int, float],
) -> dict[int, float]:
    """Seconds from each truth's birth to the first scan where a confirmed track is assigned to
    it (``assigned_track_ids`` should come from confirmed tracks only); nan if never."""
    out = {tid: float("nan") for tid in t_birth_s}
    for t, tids, aids in zip(times_s, truth_ids, assigned_track_ids, strict=True):
        for tid, aid in zip(np.asarray(tids).tolist(), np.asarray(aids).tolist(), strict=True):
            if aid >= 0 and np.isnan(out.get(tid, 0.0)):
                out[tid] = t - t_birth_s[tid]
    return out
