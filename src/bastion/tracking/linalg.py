"""Closed-form 3×3 symmetric algebra, vectorised over leading axes.

Innovation covariances are 3×3. ``numpy.linalg`` pays a per-call and per-matrix overhead that
dominates for tiny matrices; cofactor formulas on the six distinct entries are a handful of
elementwise operations over the whole batch.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

__all__ = ["det_sym3", "inv_det_sym3", "mahalanobis_sym6"]


def det_sym3(S: F64) -> F64:
    """Determinant of symmetric 3×3 matrices ``S`` (..., 3, 3)."""
    a, b, c = S[..., 0, 0], S[..., 0, 1], S[..., 0, 2]
    d, e, f = S[..., 1, 1], S[..., 1, 2], S[..., 2, 2]
    return a * (d * f - e * e) + b * (c * e - b * f) + c * (b * e - c * d)


_SYM = np.array([0, 1, 2, 4, 5, 8])  # flat indices of (xx, xy, xz, yy, yz, zz) in a 3×3


def inv_det_sym3(S: F64) -> tuple[F64, F64]:
    """Inverse and determinant of symmetric 3×3 matrices ``S`` (..., 3, 3).

    The six distinct entries are first gathered into contiguous rows: elementwise arithmetic
    on contiguous rows is several times cheaper than on strided views of the batch.
    """
    shape = S.shape
    a, b, c, d, e, f = S.reshape(-1, 9)[:, _SYM].T.copy()
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    det = a * A + b * B + c * C
    inv = np.stack([A, B, C, B, a * f - c * c, b * c - a * e, C, b * c - a * e, a * d - b * b])
    inv *= 1.0 / det
    return inv.T.reshape(shape), det.reshape(shape[:-2])


def mahalanobis_sym6(S6: F64, nu: F64) -> tuple[F64, F64]:
    """Squared Mahalanobis distance ``nu' S⁻¹ nu`` and ``det S`` for symmetric matrices given
    entry-major: ``S6`` (6, ...) holds the rows (xx, xy, xz, yy, yz, zz), ``nu`` (3, ...).
    """
    a, b, c, d, e, f = S6
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    det = a * A + b * B + c * C
    x, y, z = nu
    quad = (
        A * x * x
        + (a * f - c * c) * y * y
        + (a * d - b * b) * z * z
        + 2.0 * (B * x * y + C * x * z + (b * c - a * e) * y * z)
    )
    return quad / det, det
