"""Scenario schema (pydantic v2).

A scenario is everything a planner can change — sites, sensors, effectors, doctrine — plus
the raid it is tested against. Positions are WGS84 at this edge; the simulator works in a
local ENU frame (metres) about ``origin``. Heights are metres above local ground (the
terrain is taken as flat; earth curvature enters through the radar horizon).

Every model number has a default so a scenario can stay short; every number in a built-in
scenario that is not a reported fact is listed under ``assumptions`` with its plausible
range and reason, which is what ``bastion validate`` varies in its sensitivity table.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EOIR",
    "IFF",
    "Airframe",
    "AirframeKinematics",
    "Asset",
    "Assumption",
    "Band",
    "Bird",
    "Camera",
    "ClassProfile",
    "Departure",
    "Doctrine",
    "Effector",
    "FailSafe",
    "Gun",
    "Identification",
    "Intruders",
    "Jammer",
    "LatLon",
    "Missile",
    "NoFireZone",
    "Operator",
    "OwnAircraft",
    "PassiveRF",
    "Perimeter",
    "Position",
    "Radar",
    "Raid",
    "ReactionForce",
    "ReferenceFigure",
    "ReferenceOutcome",
    "Ridge",
    "Scenario",
    "Sensor",
    "Site",
    "Terrain",
    "Wind",
]


class _Model(BaseModel):
    # Unknown keys are errors: a misspelt `pfa_` must not silently fall back to a default.
    # NaN and infinity are errors everywhere: a NaN mask or an infinite speed would not fail,
    # it would quietly give wrong numbers (NaN positions counted as leakers).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _between(lo: float, hi: float, why: str = "", *, open_lo: bool = False) -> Any:
    """A float field bounded to a physical range; ``why`` ends up in the schema."""
    lower = {"gt": lo} if open_lo else {"ge": lo}
    return Annotated[float, Field(le=hi, description=why or None, **lower)]


# Upper bounds are physical or resource limits, not modelling choices: far beyond any real
# system, tight enough that a typo (1e12 m, 1e-9 s) fails with its field named instead of
# exhausting memory or hanging. The reason is given where it is not obvious.
DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
MAX_RANGE_M = 1_000_000.0  # 1,000 km: beyond that the flat local frame about origin is wrong
MAX_OBJECTS = 100_000  # drones + birds + own aircraft + intruders in one replication
MAX_FALSE_ALARMS_PER_SCAN = 1_000.0  # each false alarm is a report the tracker must gate

Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, degrees (WGS84)")]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, degrees (WGS84)")]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Range = _between(0.0, MAX_RANGE_M, open_lo=True)
RangeOrZero = _between(0.0, MAX_RANGE_M)
Height = _between(0.0, 30_000.0)
Duration = _between(0.0, WEEK_S)
Period = _between(0.01, DAY_S, "seconds; at least 0.01 s (a shorter period only costs steps)")
Speed = _between(0.0, 1_000.0, open_lo=True)
Rcs = _between(1e-6, 1e5)
Count = Annotated[int, Field(ge=0, le=MAX_OBJECTS)]
Usd = _between(0.0, 1e10)
# Names are how --set paths and cross-references find an item: no dots (the path separator),
# not all digits (read as a list index), no control characters.
_NAME_CHAR = r"[^.\x00-\x1f\x7f]"
Name = Annotated[str, Field(
    max_length=80, pattern=rf"^{_NAME_CHAR}*[^.0-9\x00-\x1f\x7f]{_NAME_CHAR}*$",
    description="unique name: no dots, not all digits")]


class LatLon(_Model):
    lat_deg: Lat
    lon_deg: Lon


class Position(LatLon):
    height_m: Height = Field(0.0, description="height above local ground, metres")


class Wind(_Model):
    speed_mps: _between(0.0, 100.0) = 0.0
    from_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = Field(
        0.0, description="direction the wind blows FROM, degrees clockwise from north"
    )
    speed_sigma_mps: _between(0.0, 50.0) = Field(
        0.0, description="replication-to-replication spread of the wind speed (normal)"
    )


class Asset(_Model):
    name: Name
    position: LatLon
    radius_m: _between(0.0, 10_000.0, open_lo=True) = Field(
        50.0, description="a warhead impact within this is a hit")
    value: _between(0.0, 1e9, open_lo=True) = Field(
        1.0, description="relative value; threat value scales with it")


Polygon = Annotated[list[LatLon], Field(min_length=3, max_length=1_000)]


def polygon_problem(points: list[LatLon]) -> str | None:
    """Why ``points`` is not a simple polygon (None if it is): too few distinct corners, no
    area, or edges that cross. Tested on a local flat projection, fine at site scale."""
    lat0 = math.radians(sum(p.lat_deg for p in points) / len(points))
    xy = [(p.lon_deg * math.cos(lat0), p.lat_deg) for p in points]
    if xy[0] == xy[-1]:
        xy = xy[:-1]  # a closing vertex repeated is allowed
    if len(set(xy)) < 3:
        return "needs at least 3 distinct corners"
    n = len(xy)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    for i in range(n):
        a, b = xy[i], xy[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # the two edges meeting at corner 0
            c, d = xy[j], xy[(j + 1) % n]
            if (cross(a, b, c) * cross(a, b, d) < 0) and (cross(c, d, a) * cross(c, d, b) < 0):
                return f"edges {i}-{i + 1} and {j}-{(j + 1) % n} cross (not a simple polygon)"
    area2 = sum(xy[i][0] * xy[(i + 1) % n][1] - xy[(i + 1) % n][0] * xy[i][1] for i in range(n))
    if abs(area2) < 1e-14:
        return "has no area (its corners are on one line)"
    return None


class NoFireZone(_Model):
    name: Name
    polygon: Polygon
    note: str = Field("", max_length=10_000)

    @field_validator("polygon")
    @classmethod
    def _simple(cls, pts: list[LatLon]) -> list[LatLon]:
        problem = polygon_problem(pts)
        if problem:
            raise ValueError(f"polygon {problem}")
        return pts


class ReactionForce(_Model):
    """The site's ground reaction force: leaves its base ``response_time_s`` after an alarm and
    moves at ``speed_mps`` to intercept the intruders (stopping those within capture radius)."""

    position: LatLon | None = Field(None, description="its base; default: the assets' centroid")
    # ASSUMED: a guard force on standby mounts up and leaves in ~2 min (quick-reaction-force
    # readiness; no published figure for this base)
    response_time_s: _between(0.0, WEEK_S) = 120.0
    # ASSUMED: a vehicle on base roads and open ground, ~20 km/h average
    speed_mps: _between(0.0, 50.0, open_lo=True) = 6.0
    # ASSUMED: close enough to challenge and detain
    capture_radius_m: _between(0.0, 1_000.0, open_lo=True) = 20.0
class Ridge(_Model):
    """A synthetic ridge: a straight crest from ``start`` to ``end`` of ``height_m`` above
    the site's ground, falling off across it as a Gaussian of 1σ = width_m / 2."""

    start: LatLon
    end: LatLon
    height_m: _between(0.0, 9_000.0, open_lo=True)
    width_m: _between(1.0, 100_000.0)


class Terrain(_Model):
    """The site's terrain: elevations above its ground (a DEM file, synthetic ridges, or
    both added) and where the sea is (sea clutter there instead of land clutter)."""

    dem: str | None = Field(
        None, max_length=4_096,
        description="GeoTIFF elevation file (metres above the site's ground level), path "
        "relative to the scenario file")
    dem_datum_m: _between(-1_000.0, 9_000.0) = Field(
        0.0, description="DEM elevation taken as the site's ground level (subtracted)")
    ridges: list[Ridge] = Field([], max_length=1_000)
    sea_sector: tuple[Azimuth, Azimuth] | None = Field(
        None, description="[from_deg, to_deg] bearings from the site centre over the sea")
    sea: Polygon | None = Field(None, description="polygon over the sea")
    step_m: _between(10.0, 5_000.0) = Field(
        100.0, description="range step of the line-of-sight profiles")
    azimuth_step_deg: _between(0.05, 10.0) = Field(
        0.5, description="azimuth step of the line-of-sight profiles")


class Site(_Model):
    name: Name
    terrain: Terrain | None = Field(None, description="elevation and sea (default flat land)")
    assets: list[Asset] = Field(min_length=1, max_length=1_000)
    reaction_force: ReactionForce = ReactionForce()
    fence: Polygon | None = Field(None, description="perimeter polygon")
    no_fire_zones: list[NoFireZone] = Field([], max_length=1_000)
    crews: Annotated[int, Field(ge=1, le=1_000)] = Field(
        1, description="operator crews deciding this site's engagement proposals in parallel")

    @field_validator("fence")
    @classmethod
    def _simple(cls, pts: list[LatLon] | None) -> list[LatLon] | None:
        problem = polygon_problem(pts) if pts else None
        if problem:
            raise ValueError(f"fence {problem}")
        return pts


# --------------------------------------------------------------------------- sensors


CLASS_NAMES = ("hostile_drone", "bird", "own_aircraft")  # order of core.detections.CLASSES
ClassName = Literal["hostile_drone", "bird", "own_aircraft"]
# P(a report | true class), one per class (hostile drone, bird, own aircraft): a likelihood
# row of a sensor whose reports say the same about everyone it reports (RF, IFF)
Likelihood = Annotated[tuple[float, float, float], Field(
    description="P(report | hostile drone, bird, own aircraft); each in (0, 1]")]


def _likelihood_ok(row: tuple[float, ...], what: str) -> None:
    if any(not 0.0 < v <= 1.0 for v in row):
        raise ValueError(f"{what}: every P(report | class) must be in (0, 1] (a zero would "
                         "rule a class out for good on one report)")


class _SensorBase(_Model):
    name: Name
    site: str
    position: Position


Azimuth = _between(0.0, 360.0)
Elevation = _between(-90.0, 90.0)


class Radar(_SensorBase):
    kind: Literal["radar"] = "radar"
    scan_period_s: Period = 1.0
    reference_rcs_m2: Rcs = Field(1.0, description="RCS at which range_pd90_m is quoted")
    range_pd90_m: Range = Field(20_000.0, description="range of Pd = 0.9 on reference RCS")
    pfa: Annotated[float, Field(ge=1e-15, lt=1.0)] = 1e-6
    max_range_m: Range = 40_000.0
    range_resolution_m: _between(0.1, 10_000.0) = 30.0
    azimuth_beamwidth_deg: _between(0.01, 360.0) = 2.0
    elevation_coverage_deg: _between(0.0, 90.0, open_lo=True) = Field(
        60.0, description="elevation extent searched")
    min_radial_speed_mps: _between(0.0, 300.0) = Field(
        1.0, description="MTI notch: slower echoes dropped")
    sigma_range_m: _between(0.0, 10_000.0, open_lo=True) = 10.0
    sigma_azimuth_deg: _between(0.0, 30.0, open_lo=True) = 0.3
    sigma_elevation_deg: _between(0.0, 30.0, open_lo=True) = 0.5
    mask: list[tuple[Azimuth, Azimuth, Elevation]] = Field(
        [], max_length=3_600,
        description="[from_deg, to_deg, min_elevation_deg] sectors masked below elevation",
    )
    rcs_evidence: bool = Field(
        True, description="each report carries class evidence from its measured RCS")
    # ASSUMED: ±3 dB amplitude calibration of a search radar's RCS estimate (typical of
    # uncalibrated surveillance radars; no figure published for the built-ins' radars)
    rcs_calibration_sigma_db: _between(0.0, 30.0) = Field(
        3.0, description="1σ error of the radar's RCS estimate, dB (besides Swerling fluctuation)")
    # Clutter (docs/models.md "Terrain and clutter"): the echo of the ground or sea in the
    # target's resolution cell, weighted by the two-way beam pattern at the angle between
    # the target and the ground beneath it, after the MTI/Doppler improvement factor.
    clutter: bool = Field(True, description="model land/sea clutter in the Pd (signal to "
                          "clutter plus noise)")
    land_sigma0_db: _between(-80.0, 0.0) = Field(
        -20.0, description="land clutter reflectivity σ0 at low grazing, dB m²/m²")
    # ASSUMED: Barton, Radar Equations for Modern Radar (2013) §8.3: rural/wooded land at low
    # grazing angles −20…−30 dB at S/X band; the higher (worse) end taken.
    sea_sigma0_db: _between(-80.0, 0.0) = Field(
        -40.0, description="sea clutter reflectivity σ0 at low grazing, dB m²/m²")
    # ASSUMED: Nathanson, Radar Design Principles (1999) tables, sea state 3, grazing < 1°,
    # X band: about −40…−50 dB.
    mti_improvement_db: _between(0.0, 90.0) = Field(
        50.0, description="clutter attenuation of the MTI/pulse-Doppler processing, dB")
    # ASSUMED: Skolnik, Radar Handbook 3rd ed. ch. 2-3: pulse-Doppler sub-clutter
    # visibility of modern search radars 40-60 dB.
    elevation_beamwidth_deg: _between(0.1, 90.0) = Field(
        3.0, description="one-way 3 dB elevation beamwidth of the beam that sees the target")

    @model_validator(mode="after")
    def _false_alarm_load(self) -> Radar:
        # Same count the radar model draws from (range cells × azimuth beams × Pfa).
        cells = (self.max_range_m / self.range_resolution_m) * (360.0 / self.azimuth_beamwidth_deg)
        lam = self.pfa * cells
        if lam > MAX_FALSE_ALARMS_PER_SCAN:
            raise ValueError(
                f"pfa × resolution cells gives {lam:.3g} false alarms per scan (at most "
                f"{MAX_FALSE_ALARMS_PER_SCAN:g}): lower pfa or coarsen range_resolution_m / "
                "azimuth_beamwidth_deg")
        return self


class PassiveRF(_SensorBase):
    kind: Literal["rf"] = "rf"
    period_s: Period = 1.0
    range_m: Range = 8_000.0
    pd: Prob = 0.8
    sigma_position_m: _between(0.0, 100_000.0, open_lo=True) = Field(
        150.0, description="DF network position error")
    # ASSUMED: a drone-protocol emitter is strong evidence of a drone; birds never emit; own
    # aircraft emit but on other protocols, which a DF network mostly rejects
    class_likelihood: Likelihood = (0.9, 1e-4, 0.02)

    @model_validator(mode="after")
    def _likelihood(self) -> PassiveRF:
        _likelihood_ok(self.class_likelihood, "class_likelihood")
        return self


class EOIR(_SensorBase):
    kind: Literal["eoir"] = "eoir"
    period_s: Period = 1.0
    range_day_m: Range = 5_000.0
    range_night_m: Range = Field(3_000.0, description="IR channel: the only one at night")
    slew_time_s: _between(0.0, 3_600.0) = 2.0
    dwell_s: _between(0.0, DAY_S, open_lo=True) = 4.0
    pd: Prob = 0.9
    p_correct_class: Prob = Field(
        0.9, description="diagonal of the default confusion matrix (errors spread evenly)")
    confusion: list[list[Prob]] | None = Field(
        None, description="P(reported class | true class): rows true hostile drone, bird, own "
        "aircraft; columns the reported class; rows sum to 1 (default from p_correct_class)")
    sigma_position_m: _between(0.0, 100_000.0, open_lo=True) = 5.0

    @model_validator(mode="after")
    def _confusion(self) -> EOIR:
        c = self.confusion
        if c is None:
            return self
        if len(c) != 3 or any(len(r) != 3 for r in c):
            raise ValueError("confusion: must be 3 rows of 3 (hostile drone, bird, own aircraft)")
        for i, r in enumerate(c):
            if abs(sum(r) - 1.0) > 1e-6:
                raise ValueError(f"confusion.{i}: a row must sum to 1 (it sums to {sum(r):g})")
            if r[i] <= 0.0:
                raise ValueError(f"confusion.{i}.{i}: the right class must have P > 0")
        return self

    def confusion_matrix(self) -> list[list[float]]:
        """P(reported j | true i), the given one or the default from ``p_correct_class``."""
        if self.confusion is not None:
            return [list(r) for r in self.confusion]
        pc, off = self.p_correct_class, (1.0 - self.p_correct_class) / 2
        return [[pc if i == j else off for j in range(3)] for i in range(3)]


class IFF(_SensorBase):
    kind: Literal["iff"] = "iff"
    interrogation_period_s: Period = 4.0
    range_m: Range = 30_000.0
    reply_probability: Prob = 0.9
    # ASSUMED: a valid mode-4/5 reply is all but proof of a friend
    class_likelihood: Likelihood = (1e-4, 1e-4, 1.0)

    @model_validator(mode="after")
    def _likelihood(self) -> IFF:
        _likelihood_ok(self.class_likelihood, "class_likelihood")
        return self


class Perimeter(_SensorBase):
    kind: Literal["perimeter"] = "perimeter"
    pd: Prob = 0.9
    latency_s: _between(0.0, DAY_S) = 5.0
    nuisance_per_hour: _between(0.0, 3_600.0, "at most one a second") = 0.5


class Camera(_SensorBase):
    """A fixed perimeter camera watching the ground for people on foot (not the air).

    Its visible (EO) channel sees only by day; its thermal (IR) channel sees day and night,
    at night with its own range factor. Each look detects a person in range with ``pd``.
    """

    kind: Literal["camera"] = "camera"
    period_s: Period = Field(1.0, description="seconds between looks")
    eo_range_m: RangeOrZero = Field(
        400.0, description="visible channel: range on a person, by day only (0: no EO)")
    ir_range_m: RangeOrZero = Field(
        300.0, description="thermal channel: range on a person by day (0: no IR)")
    ir_night_range_factor: _between(0.0, 10.0) = Field(
        1.3, description="thermal range at night ÷ by day (cooler background, more contrast)")
    pd: Prob = Field(0.3, description="chance one look detects a person in range")
    latency_s: _between(0.0, DAY_S) = Field(
        10.0, description="from detection to the alarm (an operator confirms the picture)")


Sensor = Annotated[Radar | PassiveRF | EOIR | IFF | Perimeter | Camera,
                   Field(discriminator="kind")]


# --------------------------------------------------------------------------- effectors


class _EffectorBase(_Model):
    name: Name
    site: str
    position: Position
    cost_per_shot_usd: Usd = 0.0


class _Kinetic(_EffectorBase):
    min_range_m: RangeOrZero = 200.0
    max_range_m: Range = 4_000.0
    max_altitude_m: _between(0.0, 30_000.0, open_lo=True) = 3_000.0
    pk_max: Prob = 0.7
    projectile_speed_mps: _between(1.0, 10_000.0) = 1_000.0
    reaction_s: _between(0.0, 3_600.0) = Field(
        3.0, description="slew + lay time before the first shot")
    shot_interval_s: Period = 2.0
    magazine: Annotated[int, Field(ge=0, le=1_000_000)] = 10
    reload_s: _between(0.0, WEEK_S) = 600.0
    reserve_rounds: Annotated[int, Field(ge=0, le=100_000_000)] | None = Field(
        None, description="rounds held for reloads beyond the first magazine (total stock = "
        "magazine + reserve_rounds); unset: unlimited")
    fire_unit: Name | None = Field(
        None, description="vehicle / fire-control unit this weapon belongs to: weapons of "
        "one unit share its fire channels (unset: a unit of its own)")
    fire_channels: Annotated[int, Field(ge=1, le=1_000)] = Field(
        4, description="targets the unit can guide at once; a channel is held from the "
        "proposal to the intercept (a unit whose weapons differ has the fewest)")
    # ASSUMED: Pantsir-S1 class, 3-4 targets engaged at once (KBP open brochures).
    min_altitude_m: _between(0.0, 30_000.0) = Field(
        0.0, description="lowest target height above local ground it can engage")
    required_sigma_m: _between(0.0, 100_000.0, open_lo=True) = Field(
        30.0, description="largest predicted position error (1σ) at intercept it accepts"
    )
    error_scale_m: _between(0.0, 100_000.0, open_lo=True) = Field(
        10.0, description="Pk falls as exp(-½ σ²/scale²) with predicted error σ"
    )
    crossing_speed_scale_mps: _between(0.0, 100_000.0, open_lo=True) = Field(
        150.0, description="Pk falls as exp(-crossing/scale)"
    )

    @model_validator(mode="after")
    def _ranges_ordered(self) -> _Kinetic:
        if self.min_range_m >= self.max_range_m:
            raise ValueError(f"min_range_m ({self.min_range_m:g}) must be less than "
                             f"max_range_m ({self.max_range_m:g})")
        return self


class Gun(_Kinetic):
    """Unguided: the fire-control prediction must hold over the whole time of flight."""

    kind: Literal["gun"] = "gun"
    required_sigma_m: PosFloat = 40.0
    error_scale_m: PosFloat = 15.0
    round_max_range_m: Range = Field(
        8_000.0, description="how far missed rounds can fly on along the line of fire"
    )
    burst_rounds: Annotated[int, Field(ge=1, le=10_000)] = Field(
        1, description="rounds per burst (one shot); pk_max is then per round and the "
        "burst's Pk is 1 − (1 − Pk_round)^n")


class Missile(_Kinetic):
    """Command-guided: corrected in flight, so only the hand-over error counts."""

    kind: Literal["missile"] = "missile"
    required_sigma_m: PosFloat = 150.0
    error_scale_m: PosFloat = 80.0
    max_range_m: Range = 15_000.0
    projectile_speed_mps: _between(1.0, 10_000.0) = 900.0
    pk_max: Prob = 0.85


class Band(_Model):
    """A frequency band a jammer radiates in, [low_mhz, high_mhz]."""

    low_mhz: _between(1.0, 100_000.0)
    high_mhz: _between(1.0, 100_000.0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low_mhz > self.high_mhz:
            raise ValueError(f"low_mhz ({self.low_mhz:g}) must not exceed high_mhz "
                             f"({self.high_mhz:g})")
        return self

    def covers(self, f_mhz: float) -> bool:
        return self.low_mhz <= f_mhz <= self.high_mhz

    @property
    def centre_mhz(self) -> float:
        return 0.5 * (self.low_mhz + self.high_mhz)


class Jammer(_EffectorBase):
    """GNSS (and control-link) jammer or spoofer: an area effector, not a one-target weapon.

    The denial range follows from a free-space link budget: the drone's receiver loses lock
    where jamming-to-signal J/S = EIRP − FSPL(d, f) + G_rx − S exceeds its threshold.
    """

    kind: Literal["jammer"] = "jammer"
    mode: Literal["jam", "spoof"] = "jam"
    eirp_dbw: _between(-60.0, 90.0) = Field(
        7.0, description="effective isotropic radiated power, dBW (-60 … 90, 1 µW … 1 GW)")
    frequency_mhz: _between(1.0, 100_000.0) = Field(
        1575.42, description="nominal frequency, 1 MHz … 100 GHz: without bands, the centre "
        "of the one band it radiates in; the J/S at a receiver is taken at the receiver's "
        "frequency (GNSS, control link)")
    activation_range_m: Range = Field(
        20_000.0, description="doctrine: radiate once a hostile track is within this range"
    )
    bands: list[Band] = Field(
        [], max_length=32,
        description="frequency bands it radiates in (e.g. GNSS L1, 2.4/5.8 GHz ISM control "
        "links); empty: one 20 MHz band about frequency_mhz")
    blank_sectors: list[tuple[Azimuth, Azimuth]] = Field(
        [], max_length=360,
        description="[from_deg, to_deg] azimuth sectors it does not radiate into (e.g. the "
        "runway departure path); from > to wraps through north")
    divert_to: LatLon | None = Field(
        None, description="spoof mode (kept for old files): push captured drones toward the "
        "bearing of this point from the spoofer (it is not where they end: the spoofer "
        "does not know their targets)"
    )
    spoof_push_deg: Annotated[float, Field(ge=0.0, lt=360.0)] | None = Field(
        None, description="spoof mode: bearing toward which captured drones' true tracks "
        "are pushed (their believed position is shifted the opposite way)")
    spoof_rate_mps: _between(0.0, 100.0, open_lo=True) = Field(
        10.0, description="spoof mode: how fast the believed-position offset is ramped")
    # ASSUMED: slow enough not to trip a hobby autopilot's GNSS/IMU innovation check
    # (Kerns et al. 2014, J. Field Robotics 31(4): gradual capture and drift; no public rate).
    spoof_capture_margin_db: _between(-60.0, 100.0) = Field(
        3.0, description="spoof mode: power above the true signal needed to capture"
    )
    p_capture: Prob = Field(
        1.0,
        description="spoof mode: chance a receiver in range is captured rather than detecting "
        "the spoof (one that detects it distrusts GNSS and takes its fail-safe)",
    )

    @model_validator(mode="after")
    def _spoofer_has_divert(self) -> Jammer:
        if self.mode == "spoof" and self.divert_to is None and self.spoof_push_deg is None:
            raise ValueError("spoof_push_deg: a spoofer (mode: spoof) needs a push direction "
                             "(spoof_push_deg, or the older divert_to point)")
        return self

    def radiated_bands(self) -> list[Band]:
        """The bands it radiates in: ``bands``, or one 20 MHz band about ``frequency_mhz``."""
        # ASSUMED: a 20 MHz wide default band covers GNSS L1 C/A (±1 MHz) and P(Y) (±10 MHz).
        return list(self.bands) or [Band(low_mhz=self.frequency_mhz - 10.0,
                                         high_mhz=self.frequency_mhz + 10.0)]


Effector = Annotated[Gun | Missile | Jammer, Field(discriminator="kind")]


# --------------------------------------------------------------------------- threats


class FailSafe(_Model):
    """What a drone does once GNSS (or its link) has been lost for the lock-loss timeout."""

    land: Prob = 0.3
    loiter: Prob = 0.1
    return_home: Prob = 0.1
    continue_ins: Prob = 0.5

    @model_validator(mode="after")
    def _sums_to_one(self) -> FailSafe:
        total = self.land + self.loiter + self.return_home + self.continue_ins
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"fail-safe probabilities must sum to 1 (they sum to {total:g})")
        return self


class Airframe(_Model):
    kind: Literal["fixed_wing", "multirotor"] = "fixed_wing"
    cruise_speed_mps: _between(0.0, 400.0, "subsonic: at most 400 m/s", open_lo=True) = 30.0
    speed_sigma_mps: _between(0.0, 100.0) = 2.0
    rcs_m2: Rcs = 0.03
    altitude_m: _between(0.0, 20_000.0, open_lo=True) = 300.0
    navigation: Literal["gnss", "ins", "rf_link"] = "gnss"
    emits_rf: bool = Field(False, description="an active control/video link passive RF can hear")
    lock_loss_timeout_s: _between(0.0, DAY_S) = 10.0
    failsafe: FailSafe = FailSafe()
    js_threshold_db: _between(-100.0, 150.0) = Field(
        35.0, description="receiver J/S at which lock is lost")
    js_threshold_sigma_db: _between(0.0, 50.0) = Field(
        3.0, description="spread between receivers")
    gnss_signal_dbw: _between(-250.0, -100.0) = Field(
        -160.0, description="received GNSS signal power")
    antenna_gain_to_jammer_dbi: _between(-60.0, 40.0) = Field(
        -10.0, description="sky-facing patch at horizon")
    gnss_frequency_mhz: _between(1.0, 100_000.0) = Field(
        1575.42, description="GNSS band it navigates on (L1)")
    control_link_mhz: _between(1.0, 100_000.0) = Field(
        2437.0, description="rf_link navigation: its control uplink frequency (2.4 GHz ISM)")
    control_eirp_dbw: _between(-60.0, 60.0) = Field(
        -10.0, description="rf_link: the ground controller's uplink EIRP, dBW")
    # ASSUMED: 100 mW (−10 dBW), the EU 2.4 GHz ISM limit most hobby links stay under.
    link_js_threshold_db: _between(-60.0, 100.0) = Field(
        10.0, description="rf_link: J/S at the drone's receiver at which the link is lost")
    # ASSUMED: frequency-hopping hobby links (e.g. FHSS at 2.4 GHz) tolerate a few dB of
    # in-band J/S; 10 dB taken, no public figure.
    wind_estimate_sigma_mps: _between(0.0, 50.0) = Field(
        2.0, description="INS dead-reckoning drift source")
    glide_ratio: _between(0.1, 100.0) = 8.0
    p_crash_on_forced_landing: Prob = 0.5
    lethal_radius_m: _between(0.0, 10_000.0, open_lo=True) = 30.0
    endurance_s: _between(0.0, WEEK_S, open_lo=True) = 14_400.0
    # --- kinematics by kind (None: the kind's default, ``Airframe.kinematics``) --------
    climb_rate_mps: _between(0.0, 50.0, open_lo=True) | None = Field(
        None, description="steepest climb toward cruise altitude; default by kind")
    descent_rate_mps: _between(0.0, 50.0, open_lo=True) | None = Field(
        None, description="steepest descent (a multirotor's fail-safe landing); by kind")
    acceleration_mps2: _between(0.0, 100.0, open_lo=True) | None = Field(
        None, description="multirotor only: speeding up after take-off and braking into "
        "the approach")
    approach_speed_mps: _between(0.0, 400.0, open_lo=True) | None = Field(
        None, description="multirotor only: airspeed within approach_radius_m of the aim")
    approach_radius_m: _between(0.0, 100_000.0) | None = Field(
        None, description="multirotor only: where the slow final approach starts")
    hover_s: _between(0.0, DAY_S) | None = Field(
        None, description="multirotor only: time hovering over the aim before the attack")

    @model_validator(mode="after")
    def _multirotor_fields(self) -> Airframe:
        if self.kind == "fixed_wing":
            for f in ("acceleration_mps2", "approach_speed_mps", "approach_radius_m", "hover_s"):
                if getattr(self, f) is not None:
                    raise ValueError(f"{f}: only a multirotor has it (kind is fixed_wing: it "
                                     "cannot hover and flies its approach at cruise speed)")
        return self

    def kinematics(self) -> AirframeKinematics:
        """The effective kinematic numbers: what the airframe sets, else its kind's default."""
        d = _KIN_DEFAULTS[self.kind]
        pick = lambda f: d[f] if getattr(self, f) is None else getattr(self, f)  # noqa: E731
        return AirframeKinematics(**{f: float(pick(f)) for f in d})


class AirframeKinematics(BaseModel):
    """Resolved kinematics of an airframe (see ``_KIN_DEFAULTS``)."""

    model_config = ConfigDict(frozen=True)
    climb_rate_mps: float
    descent_rate_mps: float
    acceleration_mps2: float  # inf: changes speed at once
    approach_speed_mps: float  # inf: no slow approach (cruise speed to the end)
    approach_radius_m: float
    hover_s: float


_KIN_DEFAULTS: dict[str, dict[str, float]] = {
    # fixed-wing: holds altitude at <= 3 m/s either way (a small UAV's cruise climb), no
    # hover, no slow approach; these are the numbers bastion has always used.
    "fixed_wing": {"climb_rate_mps": 3.0, "descent_rate_mps": 3.0,
                   "acceleration_mps2": math.inf, "approach_speed_mps": math.inf,
                   "approach_radius_m": 0.0, "hover_s": 0.0},
    "multirotor": {
        # ASSUMED: loaded quadcopter: DJI Mavic 3 / Matrice 300 spec sheets give 6-8 m/s
        # ascent and 5-6 m/s descent unloaded; a payload roughly halves the margin.
        "climb_rate_mps": 5.0, "descent_rate_mps": 3.0,
        # ASSUMED: ~0.3 g horizontal acceleration (a 17 deg tilt) for a loaded airframe.
        "acceleration_mps2": 3.0,
        # ASSUMED: an operator lining up a drop or a dive over the target slows to a few
        # m/s over the last few hundred metres and hovers to aim (open reporting of
        # quadcopter drop attacks; no published figure).
        "approach_speed_mps": 5.0, "approach_radius_m": 300.0, "hover_s": 20.0},
}


class Departure(_Model):
    t_s: Duration = Field(0.0, description="mean launch time after scenario start")
    spread_s: Duration = Field(300.0, description="launch times uniform in t ± spread")


class Raid(_Model):
    name: Name
    count: Annotated[int, Field(ge=1, le=MAX_OBJECTS)]
    airframe: str
    launch: LatLon
    launch_radius_m: _between(0.0, 100_000.0) = 2_000.0
    target: str = Field(description="name of the asset aimed at")
    waypoints: list[LatLon] = Field([], max_length=1_000)
    departure: Departure = Departure()


class OwnAircraft(_Model):
    name: Name
    site: str
    count: Count = 1
    first_s: Duration = 600.0
    interval_s: _between(1.0, WEEK_S) = 300.0
    runway: LatLon
    heading_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = 0.0
    speed_mps: Speed = 90.0
    climb_mps: _between(0.0, 300.0, open_lo=True) = 15.0
    rcs_m2: Rcs = 5.0
    p_transponder_on: Prob = 0.95


class Bird(_Model):
    site: str
    count: Count = 20
    radius_m: Range = 6_000.0
    speed_mps: _between(0.0, 100.0, open_lo=True) = 12.0
    rcs_m2: Rcs = 0.01
    altitude_m: _between(0.0, 10_000.0, open_lo=True) = 150.0
    # ASSUMED: local birds (gulls, corvids, raptors) weave and circle rather than fly
    # straight: radar ornithology tells them from aircraft by their tortuous tracks (Bruderer
    # 1997, "The study of bird migration by radar", Naturwissenschaften 84); no single figure,
    # ±8°/s over ~40 s taken (migrants on passage fly straighter: set 0 for them)
    turn_rate_dps: _between(0.0, 90.0) = Field(
        8.0, description="amplitude of the weave: heading rate A·sin(2πt/T + φ), deg/s "
        "(0: straight lines)")
    turn_period_s: _between(1.0, 3_600.0) = Field(
        40.0, description="mean period T of the weave (each bird ±25 %), s")


class Intruders(_Model):
    site: str
    count: Annotated[int, Field(ge=1, le=10_000)] = 4
    breach_s: Duration = 1_800.0
    breach_at: LatLon
    target: str = Field(description="asset they head for")
    speed_mps: _between(0.0, 15.0, "on foot or running", open_lo=True) = 1.5
    response_time_s: _between(0.0, WEEK_S) | None = Field(
        None, description="overrides the site reaction force's response time for this group"
    )


# --------------------------------------------------------------------------- doctrine


class Operator(_Model):
    decision_time_s: _between(0.0, DAY_S, open_lo=True) = Field(
        8.0, description="median time to approve an engagement")
    decision_time_sigma: _between(0.0, 3.0) = Field(
        0.5, description="lognormal shape (3: the slowest 1 % take 1,000× the median)")
    p_approve: Prob = Field(0.97, description="P(approve) of a proposal on a real hostile drone")
    # ASSUMED: a crew looking at the track (and the EO/IR picture when it has one) rejects
    # half of the proposals on a bird or an own aircraft the identification got wrong: no
    # published figure; varied 0.2-0.8 in the built-ins' sensitivity tables
    p_catch_misid: Prob = Field(
        0.5, description="P(reject) of a proposal whose track is not a hostile drone")
    timeout_s: _between(0.0, DAY_S, open_lo=True) = 60.0


class Doctrine(_Model):
    weapons_control: Literal["free", "tight", "hold"] = "free"
    p_hostile_free: Prob = Field(0.5, description="weapons free: engage above this P(hostile)")
    p_hostile_tight: Prob = Field(0.9, description="weapons tight: engage above this")
    decision_period_s: Period = 1.0
    assignment: Literal["greedy", "optimal"] = "greedy"
    cost_weight: _between(0.0, 1e6) = Field(0.0, description="λ: value units per USD")
    nfz_epsilon: Prob = Field(0.01, description="max P(impact in a no-fire zone) per shot")
    soft_kill_first: bool = Field(
        True, description="hold kinetic fire on GNSS-dependent tracks a jammer covers"
    )
    soft_kill_wait_s: Duration = Field(
        40.0, description="how long a covered track is left to the jammer before kinetic fire"
    )
    kinetic_reserve_s: Duration = Field(
        60.0, description="fire kinetically anyway once time-to-go falls below this"
    )
    hold_fire_on_spoofed: bool = Field(
        True, description="hold kinetic fire on tracks a radiating spoofer visibly pushes off "
        "their approach (for as long as it lasts; the kinetic reserve still applies)"
    )
    kill_assessment_delay_s: _between(0.0, DAY_S) = 3.0
    kill_assessment_p_correct: Prob = 0.95
    operator: Operator = Operator()
    human_in_loop: bool = True
    automatic_above: Prob | None = Field(
        None, description="automatic weapons-free mode: with weapons free, proposals on "
        "tracks with P(hostile) at or above this are approved at once without a crew "
        "(None: every proposal goes to a crew while human_in_loop)")


# --------------------------------------------------------------------------- reference


class ClassProfile(_Model):
    """What one kind of object of a class looks like to the sensors and the tracker."""

    class_name: ClassName
    name: str = Field("", max_length=80)
    weight: _between(0.0, 1e6, open_lo=True) = Field(
        1.0, description="share within its class (normalised over the class's profiles)")
    speed_mps: _between(0.0, 1_000.0) = 30.0
    speed_sigma_mps: _between(0.0, 1_000.0, open_lo=True) = 10.0
    altitude_m: _between(0.0, 30_000.0) = 300.0
    altitude_sigma_m: _between(0.0, 30_000.0, open_lo=True) = 150.0
    rcs_m2: Rcs = 0.03
    rcs_log_sigma: _between(0.0, 10.0, open_lo=True) = Field(
        0.7, description="spread of natural-log RCS between objects and aspects")
    turn_rate_rps: _between(0.0, 10.0, open_lo=True) | None = Field(
        None, description="RMS heading rate of its flight, rad/s (manoeuvre evidence); "
        "None: the class's default (identify.DEFAULT_TURN_RPS)")


class Identification(_Model):
    """How the defence tells hostile drones from birds and own aircraft. By default the
    profiles and priors are derived from the scenario's own object mix (raid airframes,
    birds, own aircraft); anything given here overrides that."""

    priors: dict[ClassName, _between(0.0, 1.0, open_lo=True)] | None = Field(
        None, description="P(class) before evidence; the three classes, normalised")
    # ASSUMED: no class is ever ruled out a priori, however few of it the scenario has
    prior_floor: _between(0.0, 0.3) = Field(
        0.05, description="derived priors: each class gets at least this")
    profiles: list[ClassProfile] | None = Field(
        None, max_length=1_000,
        description="replace the derived profiles of every class listed here")
    # ASSUMED spreads around the scenario's nominal figures: ground speed varies with wind,
    # throttle and manoeuvre; cruise altitudes with terrain following and barometric error
    speed_spread: _between(0.0, 2.0) = Field(
        0.15, description="derived profiles: speed sd as a fraction of the speed (added)")
    altitude_spread: _between(0.0, 2.0) = Field(
        0.25, description="derived profiles: altitude sd as a fraction of the altitude")
    # ASSUMED: an object's RCS is one draw for all its looks (aspect, airframe), so the looks
    # are far from independent evidence of its class: one look in ten counts
    rcs_evidence_weight: _between(0.0, 1.0) = Field(
        0.1, description="weight of each radar report's RCS log-likelihood")
    # ASSUMED: the defence believes own aircraft in its terminal area fly with IFF on, all
    # but 1 % of them (the doctrine's belief, not the scenario's p_transponder_on: switching
    # transponders off must be able to fool it)
    p_transponder_belief: Prob = Field(
        0.99, description="believed P(an own aircraft's transponder is on): silence in IFF "
        "cover is evidence against own aircraft, at most log(1 − this)")
    # ASSUMED: the heading rate of a track, averaged over ~30 s, is one piece of evidence
    # (not one per epoch: successive epochs see the same manoeuvre), weighted as one
    manoeuvre_weight: _between(0.0, 10.0) = Field(
        1.0, description="weight of the manoeuvre (heading-rate) log-likelihood; 0: unused")
    manoeuvre_time_s: _between(1.0, 3_600.0) = Field(
        30.0, description="time constant of the track's running mean of its squared "
        "heading rate, s")

    @model_validator(mode="after")
    def _priors(self) -> Identification:
        if self.priors is not None and set(self.priors) != set(CLASS_NAMES):
            raise ValueError(f"priors: give all three classes {', '.join(CLASS_NAMES)}")
        return self


class ReferenceFigure(_Model):
    value: _between(0.0, float(MAX_OBJECTS), "a count of drones or assets")
    source: str


class ReferenceOutcome(_Model):
    source: str
    figures: dict[
        Literal["shot_down", "forced_down", "forced_down_crashed", "leaked",
                "reached_target_area", "drone_hits", "asset_hits", "assets_hit"],
        ReferenceFigure,
    ] = {}
    notes: list[str] = []


class Assumption(_Model):
    path: str = Field(description="dotted field path, e.g. airframes.fw.rcs_m2")
    low: float
    high: float
    reason: str

    @model_validator(mode="after")
    def _ordered(self) -> Assumption:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Scenario(_Model):
    name: Name
    description: str = Field("", max_length=100_000)
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    duration_s: _between(0.0, WEEK_S, "at most a week", open_lo=True) = 10_800.0
    night: bool = False
    origin: LatLon
    wind: Wind = Wind()
    sites: list[Site] = Field(min_length=1, max_length=100)
    sensors: list[Sensor] = Field([], max_length=1_000)
    effectors: list[Effector] = Field([], max_length=1_000)
    airframes: dict[Name, Airframe] = Field({}, max_length=1_000)
    raids: list[Raid] = Field([], max_length=1_000)
    own_aircraft: list[OwnAircraft] = Field([], max_length=1_000)
    birds: list[Bird] = Field([], max_length=1_000)
    intruders: list[Intruders] = Field([], max_length=1_000)
    doctrine: Doctrine = Doctrine()
    identification: Identification = Identification()
    reference_outcome: ReferenceOutcome | None = None
    assumptions: list[Assumption] = Field([], max_length=1_000)

    def object_counts(self) -> dict[str, int]:
        """Simulated objects of one replication, by kind."""
        return {"drones": sum(r.count for r in self.raids),
                "birds": sum(b.count for b in self.birds),
                "own aircraft": sum(a.count for a in self.own_aircraft),
                "intruders": sum(i.count for i in self.intruders)}

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        # Cross-references are checked here so the error names the field that dangles.
        sites = {s.name for s in self.sites}
        assets = {a.name for s in self.sites for a in s.assets}
        errors: list[str] = []
        # Names are how raids, --set paths and the report find an item: a duplicate would
        # silently resolve to the first one (a raid retargeted to the wrong asset).
        named: list[tuple[str, list[tuple[str, str]]]] = [
            ("sites", [(f"sites.{k}.name", s.name) for k, s in enumerate(self.sites)]),
            ("assets", [(f"sites.{k}.assets.{j}.name", a.name) for k, s in enumerate(self.sites)
                        for j, a in enumerate(s.assets)]),
            ("no-fire zones", [(f"sites.{k}.no_fire_zones.{j}.name", z.name)
                               for k, s in enumerate(self.sites)
                               for j, z in enumerate(s.no_fire_zones)]),
            ("sensors", [(f"sensors.{k}.name", x.name) for k, x in enumerate(self.sensors)]),
            ("effectors", [(f"effectors.{k}.name", x.name)
                           for k, x in enumerate(self.effectors)]),
            ("raids", [(f"raids.{k}.name", x.name) for k, x in enumerate(self.raids)]),
            ("own aircraft", [(f"own_aircraft.{k}.name", x.name)
                              for k, x in enumerate(self.own_aircraft)]),
        ]
        for what, items in named:
            first: dict[str, str] = {}
            for path, name in items:
                if name in first:
                    errors.append(f"{path}: duplicate name {name!r} (also {first[name]}); "
                                  f"{what} need unique names")
                else:
                    first[name] = path
        for group, items in (("sensors", self.sensors), ("effectors", self.effectors)):
            for k, item in enumerate(items):
                if item.site not in sites:
                    errors.append(f"{group}.{k}.site: unknown site {item.site!r}")
        units: dict[str, tuple[int, _Kinetic]] = {}
        for k, item in enumerate(self.effectors):
            if isinstance(item, _Kinetic) and item.fire_unit is not None:
                if item.fire_unit in units:
                    j, other = units[item.fire_unit]
                    if other.site != item.site:
                        errors.append(
                            f"effectors.{k}.fire_unit: fire unit {item.fire_unit!r} is at site "
                            f"{item.site!r} here but at {other.site!r} in effectors.{j}: "
                            "weapons of one unit stand at one site")
                else:
                    units[item.fire_unit] = (k, item)
        for k, raid in enumerate(self.raids):
            if raid.airframe not in self.airframes:
                errors.append(f"raids.{k}.airframe: unknown airframe {raid.airframe!r}")
            if raid.target not in assets:
                errors.append(f"raids.{k}.target: unknown asset {raid.target!r}")
        for group, items in (("own_aircraft", self.own_aircraft), ("birds", self.birds)):
            for k, item in enumerate(items):
                if item.site not in sites:
                    errors.append(f"{group}.{k}.site: unknown site {item.site!r}")
        for k, intr in enumerate(self.intruders):
            if intr.site not in sites:
                errors.append(f"intruders.{k}.site: unknown site {intr.site!r}")
            if intr.target not in assets:
                errors.append(f"intruders.{k}.target: unknown asset {intr.target!r}")
        errors += self._extent_errors()
        counts = self.object_counts()
        total = sum(counts.values())
        if total > MAX_OBJECTS:
            parts = ", ".join(f"{n:,} {k}" for k, n in counts.items() if n)
            errors.append(f"raids: {total:,} objects in one replication ({parts}); bastion "
                          f"simulates at most {MAX_OBJECTS:,}")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def _extent_errors(self) -> list[str]:
        # The simulator works in one flat ENU frame about `origin`; a point 5,000 km away is
        # a typo (a swapped lat/lon), and would be simulated as nonsense.
        lat0, lon0 = math.radians(self.origin.lat_deg), self.origin.lon_deg
        out: list[str] = []
        for path, p in _latlons(self, ""):
            dlat = math.radians(p.lat_deg) - lat0
            dlon = math.radians((p.lon_deg - lon0 + 180.0) % 360.0 - 180.0)
            a = (math.sin(dlat / 2) ** 2
                 + math.cos(lat0) * math.cos(math.radians(p.lat_deg)) * math.sin(dlon / 2) ** 2)
            d_m = 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(a)))
            if d_m > MAX_RANGE_M:
                out.append(f"{path}: {d_m / 1000:,.0f} km from origin (at most "
                           f"{MAX_RANGE_M / 1000:,.0f} km: the local frame is site-scale; "
                           "lat/lon swapped?)")
                if len(out) >= 3:
                    break
        return out

    def site(self, name: str) -> Site:
        return next(s for s in self.sites if s.name == name)


def _latlons(node: Any, path: str) -> Iterator[tuple[str, LatLon]]:
    """Every LatLon (and Position) in a validated model, with its dotted field path."""
    if isinstance(node, LatLon):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _latlons(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, list):
        for k, item in enumerate(node):
            yield from _latlons(item, f"{path}.{k}")
    elif isinstance(node, dict):
        for k, item in node.items():
            yield from _latlons(item, f"{path}.{k}")
