"""WGS84 ⇄ local ENU at the edges (pymap3d). Inside, everything is ENU metres."""

from __future__ import annotations

import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray

from bastion.scenario.schema import LatLon

__all__ = ["EARTH_RADIUS_M", "RADIO_EARTH_RADIUS_M", "Frame", "radar_horizon_m"]

EARTH_RADIUS_M = 6_371_000.0
# Standard refraction: radio waves bend so the horizon is that of a 4/3-radius earth.
_K_REFRACTION = 4.0 / 3.0
# The effective radius that horizon is computed with (the radar's compiled scan uses it too).
RADIO_EARTH_RADIUS_M = _K_REFRACTION * EARTH_RADIUS_M


def radar_horizon_m(h1_m: ArrayLike, h2_m: ArrayLike) -> NDArray[np.float64]:
    """Line-of-sight range between heights h1 and h2 over a smooth 4/3 earth."""
    re = RADIO_EARTH_RADIUS_M
    h1 = np.maximum(np.asarray(h1_m, dtype=float), 0.0)
    h2 = np.maximum(np.asarray(h2_m, dtype=float), 0.0)
    return np.sqrt(2 * re * h1) + np.sqrt(2 * re * h2)


class Frame:
    """A local tangent plane (east, north, up) about an origin on the ground."""

    def __init__(self, origin: LatLon) -> None:
        self.lat0 = origin.lat_deg
        self.lon0 = origin.lon_deg

    def to_enu(
        self, lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike = 0.0
    ) -> NDArray[np.float64]:
        """(..., 3) ENU metres; ``up`` is height above local ground (flat-terrain model)."""
        lat = np.asarray(lat_deg, dtype=float)
        lon = np.asarray(lon_deg, dtype=float)
        e, n, _ = pymap3d.geodetic2enu(lat, lon, 0.0, self.lat0, self.lon0, 0.0)
        h = np.broadcast_to(np.asarray(height_m, dtype=float), np.shape(e))
        return np.stack([np.asarray(e), np.asarray(n), h], axis=-1)

    def point(self, p: LatLon, height_m: float = 0.0) -> NDArray[np.float64]:
        return self.to_enu(p.lat_deg, p.lon_deg, getattr(p, "height_m", height_m))

    def polygon(self, pts: list[LatLon]) -> NDArray[np.float64]:
        """(k, 2) east/north vertices."""
        return self.to_enu([p.lat_deg for p in pts], [p.lon_deg for p in pts])[:, :2]

    def to_geodetic(
        self, enu: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        a = np.asarray(enu, dtype=float)
        lat, lon, _ = pymap3d.enu2geodetic(a[..., 0], a[..., 1], 0.0, self.lat0, self.lon0, 0.0)
        return np.asarray(lat), np.asarray(lon), a[..., 2]
