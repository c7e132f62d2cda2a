"""Scalar helpers for compiled (Numba) kernels that must match NumPy bit for bit.

Kernels that replaced NumPy expressions keep NumPy's results exactly; where NumPy's scalar
semantics differ from Python's or libm's (NaN propagation, which operand wins a tie of
-0.0 and 0.0), the kernels use these. They are inlined into their callers, whose
Numba cache does not notice edits here by itself: this file is one of those that
``bastion/__init__.py`` names the cache directory after.
"""

from __future__ import annotations

import numba as nb

__all__ = ["np_maximum", "np_minimum"]


@nb.njit(cache=True, inline="always", error_model="numpy")
def np_maximum(a, b):  # pragma: no cover - compiled
    """``np.maximum(a, b)``: NaN wins, otherwise the larger, ``b`` on ties
    (``max(-0.0, 0.0)`` is ``0.0``)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@nb.njit(cache=True, inline="always", error_model="numpy")
def np_minimum(a, b):  # pragma: no cover - compiled
    """``np.minimum(a, b)``: NaN wins, otherwise the smaller, ``b`` on ties."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b
