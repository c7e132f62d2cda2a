"""Terrain: elevation above the sites' ground datum, where the sea is, and line-of-sight
profiles from a point (a sensor, a jammer, a weapon) by azimuth and range.

Elevation is the largest of every site's terrain at a point: its DEM (a GeoTIFF read with
rasterio, bilinear, in metres above ``dem_datum_m``) and its synthetic ridges (a crest
segment with a Gaussian cross-section). Heights everywhere in bastion stay above the sites'
flat datum: drones hold their altitude over it (they do not follow terrain), so a ridge
higher than a drone's path hides it, which is what flying low behind a ridge buys.

A :class:`Profile` is computed once per emitter/receiver: for ``naz`` azimuth bins and
``nr`` range bins, the elevation angle of the ground at that range (``ground``, NaN where
the ground there is itself hidden) and the largest ground angle up to that range
(``horizon``): a target at azimuth a, range r and elevation e is hidden when e is below
``horizon[a, r]``. The tables are flat-frame angles, as the sensors compute the target's
elevation; earth curvature enters separately through the 4/3-earth radar horizon.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bastion.scenario.geo import Frame
from bastion.scenario.schema import Scenario

__all__ = ["Profile", "TerrainModel", "flat_profile", "read_dem"]


@dataclass(frozen=True)
class Profile:
    """Ground angles seen from one point, by (azimuth bin, range bin); see module notes."""

    horizon: NDArray[np.float64]  # (naz, nr) rad, running max of the ground angle
    ground: NDArray[np.float64]  # (naz, nr) rad, ground angle at that range; NaN: shadowed
    sea: NDArray[np.float64]  # (naz, nr) 1.0 over sea, 0.0 over land
    az_step_rad: float
    r_step_m: float
    terrain: bool  # False: flat ground (the horizon table hides nothing the 4/3 earth doesn't)

    def bins(self, az_rad: NDArray[np.float64], r_m: NDArray[np.float64]
             ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        naz, nr = self.horizon.shape
        ia = np.floor(np.mod(az_rad, 2 * np.pi) / self.az_step_rad).astype(np.int64) % naz
        ir = np.minimum(np.floor(np.maximum(r_m, 0.0) / self.r_step_m).astype(np.int64), nr - 1)
        return ia, ir

    def visible_from(self, origin: NDArray[np.float64], points: NDArray[np.float64]
                     ) -> NDArray[np.bool_]:
        """Whether points (n, 3) ENU are above the terrain horizon seen from ``origin``."""
        p = np.asarray(points, float).reshape(-1, 3)
        if not self.terrain or p.shape[0] == 0:
            return np.ones(p.shape[0], bool)
        dx, dy, dz = (p[:, c] - origin[c] for c in range(3))
        rh = np.hypot(dx, dy)
        el = np.arctan2(dz, np.maximum(rh, 1e-9))
        ia, ir = self.bins(np.arctan2(dx, dy), rh)
        return el >= self.horizon[ia, ir]


def read_dem(path: str) -> tuple[NDArray[np.float64], object, object]:
    """(elevations, affine transform, CRS) of band 1 of a GeoTIFF; nodata reads as 0 m."""
    return _read_dem(str(Path(path).resolve()), Path(path).stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_dem(path: str, _mtime: int) -> tuple[NDArray[np.float64], object, object]:
    import rasterio  # imported here: only scenarios with a DEM need it

    with rasterio.open(path) as src:
        z = src.read(1, masked=True).astype(float).filled(0.0)
        z[~np.isfinite(z)] = 0.0
        return z, src.transform, src.crs


class TerrainModel:
    """The scenario's terrain in its ENU frame (the largest of every site's)."""

    def __init__(self, scenario: Scenario, frame: Frame) -> None:
        self.frame = frame
        self.sites = [(s, s.terrain) for s in scenario.sites if s.terrain is not None]
        self.centres = {s.name: np.mean([frame.point(a.position) for a in s.assets], axis=0)
                        for s, _ in self.sites}
        self._ridges = [(frame.point(r.start)[:2], frame.point(r.end)[:2], r.height_m,
                         r.width_m / 2.0) for _, t in self.sites for r in t.ridges]
        self._sea_poly = [frame.polygon(t.sea) for _, t in self.sites if t.sea]
        self._sea_sector = [(self.centres[s.name][:2], t.sea_sector) for s, t in self.sites
                            if t.sea_sector is not None]
        self._dems = [(read_dem(t.dem), t.dem_datum_m) for _, t in self.sites if t.dem]
        steps = [(t.step_m, t.azimuth_step_deg) for _, t in self.sites]
        self.step_m = min((s for s, _ in steps), default=100.0)
        self.az_step_deg = min((a for _, a in steps), default=0.5)

    @property
    def present(self) -> bool:
        return bool(self._ridges or self._dems)

    def height_m(self, e: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
        """Terrain height above the datum at ENU (e, n) (any matching shapes)."""
        e = np.asarray(e, float)
        n = np.asarray(n, float)
        h = np.zeros(np.broadcast(e, n).shape)
        for a, b, height, sigma in self._ridges:
            ab = b - a
            L2 = float(ab @ ab)
            t = np.clip(((e - a[0]) * ab[0] + (n - a[1]) * ab[1]) / L2, 0.0, 1.0) if L2 > 0 \
                else np.zeros_like(h)
            d2 = (e - (a[0] + t * ab[0])) ** 2 + (n - (a[1] + t * ab[1])) ** 2
            h = np.maximum(h, height * np.exp(-0.5 * d2 / (sigma * sigma)))
        for (z, transform, crs), datum in self._dems:
            h = np.maximum(h, self._dem_at(z, transform, crs, e, n) - datum)
        return h

    def _dem_at(self, z: NDArray[np.float64], transform: object, crs: object,
                e: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
        lat, lon, _ = self.frame.to_geodetic(np.stack([e, n, np.zeros_like(e)], axis=-1))
        x, y = lon.ravel(), lat.ravel()
        if crs is not None and not getattr(crs, "is_geographic", True):
            from rasterio.warp import transform as warp

            x, y = (np.asarray(v) for v in warp("EPSG:4326", crs, list(x), list(y)))
        inv = ~transform  # type: ignore[operator]
        col = inv.a * x + inv.b * y + inv.c - 0.5  # fractional pixel, from pixel centres
        row = inv.d * x + inv.e * y + inv.f - 0.5
        c0 = np.floor(col).astype(np.int64)
        r0 = np.floor(row).astype(np.int64)
        fc, fr = col - c0, row - r0
        H, W = z.shape

        def at(rr: NDArray[np.int64], cc: NDArray[np.int64]) -> NDArray[np.float64]:
            inside = (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
            return np.where(inside, z[np.clip(rr, 0, H - 1), np.clip(cc, 0, W - 1)], 0.0)

        v = ((1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1))
             + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1)))
        return v.reshape(e.shape)

    def is_sea(self, e: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.bool_]:
        e = np.asarray(e, float)
        n = np.asarray(n, float)
        out = np.zeros(np.broadcast(e, n).shape, bool)
        if self._sea_poly:
            from matplotlib.path import Path as MPath

            pts = np.stack([e.ravel(), n.ravel()], axis=1)
            for poly in self._sea_poly:
                out |= MPath(poly).contains_points(pts).reshape(out.shape)
        for c, (a0, a1) in self._sea_sector:
            az = np.mod(np.degrees(np.arctan2(e - c[0], n - c[1])), 360.0)
            out |= ((az >= a0) & (az <= a1)) if a0 <= a1 else ((az >= a0) | (az <= a1))
        return out

    def profile(self, origin: NDArray[np.float64], max_range_m: float) -> Profile:
        """Ground angles from ``origin`` out to ``max_range_m`` (see :class:`Profile`)."""
        if not self.present:
            return flat_profile(float(origin[2]), max_range_m, self.step_m,
                                self.is_sea if self._sea_poly or self._sea_sector else None,
                                origin, self.az_step_deg)
        naz = max(1, round(360.0 / self.az_step_deg))
        nr = max(2, math.ceil(max_range_m / self.step_m) + 1)
        az = (np.arange(naz) + 0.5) * (2 * np.pi / naz)
        r = np.arange(nr) * self.step_m
        r[0] = 0.5 * self.step_m  # the first bin's ground just beyond the mast
        e = origin[0] + np.sin(az)[:, None] * r[None, :]
        n = origin[1] + np.cos(az)[:, None] * r[None, :]
        ground = np.arctan2(self.height_m(e, n) - origin[2], r[None, :])
        horizon = np.maximum.accumulate(ground, axis=1)
        lit = np.ones_like(ground, bool)
        lit[:, 1:] = ground[:, 1:] >= horizon[:, :-1]
        return Profile(horizon, np.where(lit, ground, np.nan),
                       self.is_sea(e, n).astype(float), 2 * np.pi / naz, self.step_m, True)


def flat_profile(height_m: float, max_range_m: float, step_m: float = 100.0,
                 is_sea: object = None, origin: NDArray[np.float64] | None = None,
                 az_step_deg: float = 0.5) -> Profile:
    """Flat ground seen from ``height_m`` above it: one azimuth bin unless the sea is given
    (then the azimuth bins say where it is)."""
    nr = max(2, math.ceil(max_range_m / step_m) + 1)
    r = np.arange(nr) * step_m
    r[0] = 0.5 * step_m
    naz = 1 if is_sea is None else max(1, round(360.0 / az_step_deg))
    ground = np.broadcast_to(np.arctan2(-height_m, r)[None, :], (naz, nr)).copy()
    sea = np.zeros((naz, nr))
    if is_sea is not None and origin is not None:
        az = (np.arange(naz) + 0.5) * (2 * np.pi / naz)
        e = origin[0] + np.sin(az)[:, None] * r[None, :]
        n = origin[1] + np.cos(az)[:, None] * r[None, :]
        sea = is_sea(e, n).astype(float)  # type: ignore[operator]
    return Profile(np.maximum.accumulate(ground, axis=1), ground, sea, 2 * np.pi / naz,
                   step_m, False)

