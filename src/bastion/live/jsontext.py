"""JSON for the outside world (browsers, the audit log): strict, so a non-finite float
(an infinite time-to-go, say) is null rather than the invalid ``Infinity``."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def to_json(x: Any, **kw: Any) -> str:
    """``json.dumps`` without NaN/Infinity; the common all-finite case costs one dump."""
    try:
        return json.dumps(x, allow_nan=False, default=str, **kw)
    except ValueError:
        return json.dumps(_finite(x), allow_nan=False, default=str, **kw)
