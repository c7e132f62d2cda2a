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

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EOIR",
    "IFF",
    "Airframe",
    "Asset",
    "Assumption",
    "Bird",
    "Departure",
    "Doctrine",
    "Effector",
    "FailSafe",
    "Gun",
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
    "ReferenceFigure",
    "ReferenceOutcome",
    "Scenario",
    "Sensor",
    "Site",
    "Wind",
]


class _Model(BaseModel):
    # Unknown keys are errors: a misspelt `pfa_` must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="latitude, degrees (WGS84)")]
Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="longitude, degrees (WGS84)")]
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNeg = Annotated[float, Field(ge=0.0)]


class LatLon(_Model):
    lat_deg: Lat
    lon_deg: Lon


class Position(LatLon):
    height_m: NonNeg = Field(0.0, description="height above local ground, metres")


class Wind(_Model):
    speed_mps: NonNeg = 0.0
    from_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = Field(
        0.0, description="direction the wind blows FROM, degrees clockwise from north"
    )
    speed_sigma_mps: NonNeg = Field(
        0.0, description="replication-to-replication spread of the wind speed (normal)"
    )


class Asset(_Model):
    name: str
    position: LatLon
    radius_m: PosFloat = Field(50.0, description="a warhead impact within this is a hit")
    value: PosFloat = Field(1.0, description="relative value; threat value scales with it")


class NoFireZone(_Model):
    name: str
    polygon: list[LatLon] = Field(min_length=3)
    note: str = ""


class Site(_Model):
    name: str
    assets: list[Asset] = Field(min_length=1)
    fence: list[LatLon] | None = Field(None, min_length=3, description="perimeter polygon")
    no_fire_zones: list[NoFireZone] = []


# --------------------------------------------------------------------------- sensors


class _SensorBase(_Model):
    name: str
    site: str
    position: Position


class Radar(_SensorBase):
    kind: Literal["radar"] = "radar"
    scan_period_s: PosFloat = 1.0
    reference_rcs_m2: PosFloat = Field(1.0, description="RCS at which range_pd90_m is quoted")
    range_pd90_m: PosFloat = Field(20_000.0, description="range of Pd = 0.9 on reference RCS")
    pfa: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-6
    max_range_m: PosFloat = 40_000.0
    range_resolution_m: PosFloat = 30.0
    azimuth_beamwidth_deg: PosFloat = 2.0
    elevation_coverage_deg: PosFloat = Field(60.0, description="elevation extent searched")
    min_radial_speed_mps: NonNeg = Field(1.0, description="MTI notch: slower echoes dropped")
    sigma_range_m: PosFloat = 10.0
    sigma_azimuth_deg: PosFloat = 0.3
    sigma_elevation_deg: PosFloat = 0.5
    mask: list[tuple[float, float, float]] = Field(
        [], description="[from_deg, to_deg, min_elevation_deg] sectors masked below elevation"
    )


class PassiveRF(_SensorBase):
    kind: Literal["rf"] = "rf"
    period_s: PosFloat = 1.0
    range_m: PosFloat = 8_000.0
    pd: Prob = 0.8
    sigma_position_m: PosFloat = Field(150.0, description="DF network position error")


class EOIR(_SensorBase):
    kind: Literal["eoir"] = "eoir"
    period_s: PosFloat = 1.0
    range_day_m: PosFloat = 5_000.0
    range_night_m: PosFloat = Field(3_000.0, description="IR channel: the only one at night")
    slew_time_s: NonNeg = 2.0
    dwell_s: PosFloat = 4.0
    pd: Prob = 0.9
    p_correct_class: Prob = 0.9
    sigma_position_m: PosFloat = 5.0


class IFF(_SensorBase):
    kind: Literal["iff"] = "iff"
    interrogation_period_s: PosFloat = 4.0
    range_m: PosFloat = 30_000.0
    reply_probability: Prob = 0.9


class Perimeter(_SensorBase):
    kind: Literal["perimeter"] = "perimeter"
    pd: Prob = 0.9
    latency_s: NonNeg = 5.0
    nuisance_per_hour: NonNeg = 0.5


Sensor = Annotated[Radar | PassiveRF | EOIR | IFF | Perimeter, Field(discriminator="kind")]


# --------------------------------------------------------------------------- effectors


class _EffectorBase(_Model):
    name: str
    site: str
    position: Position
    cost_per_shot_usd: NonNeg = 0.0


class _Kinetic(_EffectorBase):
    min_range_m: NonNeg = 200.0
    max_range_m: PosFloat = 4_000.0
    max_altitude_m: PosFloat = 3_000.0
    pk_max: Prob = 0.7
    projectile_speed_mps: PosFloat = 1_000.0
    reaction_s: NonNeg = Field(3.0, description="slew + lay time before the first shot")
    shot_interval_s: PosFloat = 2.0
    magazine: Annotated[int, Field(ge=0)] = 10
    reload_s: NonNeg = 600.0
    required_sigma_m: PosFloat = Field(
        30.0, description="largest predicted position error (1σ) at intercept it accepts"
    )
    error_scale_m: PosFloat = Field(
        10.0, description="Pk falls as exp(-½ σ²/scale²) with predicted error σ"
    )
    crossing_speed_scale_mps: PosFloat = Field(
        150.0, description="Pk falls as exp(-crossing/scale)"
    )


class Gun(_Kinetic):
    """Unguided: the fire-control prediction must hold over the whole time of flight."""

    kind: Literal["gun"] = "gun"
    required_sigma_m: PosFloat = 40.0
    error_scale_m: PosFloat = 15.0
    round_max_range_m: PosFloat = Field(
        8_000.0, description="how far missed rounds can fly on along the line of fire"
    )


class Missile(_Kinetic):
    """Command-guided: corrected in flight, so only the hand-over error counts."""

    kind: Literal["missile"] = "missile"
    required_sigma_m: PosFloat = 150.0
    error_scale_m: PosFloat = 80.0
    max_range_m: PosFloat = 15_000.0
    projectile_speed_mps: PosFloat = 900.0
    pk_max: Prob = 0.85


class Jammer(_EffectorBase):
    """GNSS (and control-link) jammer or spoofer: an area effector, not a one-target weapon.

    The denial range follows from a free-space link budget: the drone's receiver loses lock
    where jamming-to-signal J/S = EIRP − FSPL(d, f) + G_rx − S exceeds its threshold.
    """

    kind: Literal["jammer"] = "jammer"
    mode: Literal["jam", "spoof"] = "jam"
    eirp_dbw: float = Field(7.0, description="effective isotropic radiated power, dBW")
    frequency_mhz: PosFloat = 1575.42
    activation_range_m: PosFloat = Field(
        20_000.0, description="doctrine: radiate once a hostile track is within this range"
    )
    divert_to: LatLon | None = Field(
        None, description="spoof mode: where captured drones are led (a controlled area)"
    )
    spoof_capture_margin_db: float = Field(
        3.0, description="spoof mode: power above the true signal needed to capture"
    )
    p_capture: Prob = Field(
        1.0,
        description="spoof mode: chance a receiver in range is captured rather than detecting "
        "the spoof (one that detects it distrusts GNSS and takes its fail-safe)",
    )


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
    cruise_speed_mps: PosFloat = 30.0
    speed_sigma_mps: NonNeg = 2.0
    rcs_m2: PosFloat = 0.03
    altitude_m: PosFloat = 300.0
    navigation: Literal["gnss", "ins", "rf_link"] = "gnss"
    emits_rf: bool = Field(False, description="an active control/video link passive RF can hear")
    lock_loss_timeout_s: NonNeg = 10.0
    failsafe: FailSafe = FailSafe()
    js_threshold_db: float = Field(35.0, description="receiver J/S at which lock is lost")
    js_threshold_sigma_db: NonNeg = Field(3.0, description="spread between receivers")
    gnss_signal_dbw: float = Field(-160.0, description="received GNSS signal power")
    antenna_gain_to_jammer_dbi: float = Field(-10.0, description="sky-facing patch at horizon")
    wind_estimate_sigma_mps: NonNeg = Field(2.0, description="INS dead-reckoning drift source")
    glide_ratio: PosFloat = 8.0
    p_crash_on_forced_landing: Prob = 0.5
    lethal_radius_m: PosFloat = 30.0
    endurance_s: PosFloat = 14_400.0


class Departure(_Model):
    t_s: NonNeg = Field(0.0, description="mean launch time after scenario start")
    spread_s: NonNeg = Field(300.0, description="launch times uniform in t ± spread")


class Raid(_Model):
    name: str
    count: Annotated[int, Field(ge=1, le=100_000)]
    airframe: str
    launch: LatLon
    launch_radius_m: NonNeg = 2_000.0
    target: str = Field(description="name of the asset aimed at")
    waypoints: list[LatLon] = []
    departure: Departure = Departure()


class OwnAircraft(_Model):
    name: str
    site: str
    count: Annotated[int, Field(ge=0)] = 1
    first_s: NonNeg = 600.0
    interval_s: PosFloat = 300.0
    runway: LatLon
    heading_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = 0.0
    speed_mps: PosFloat = 90.0
    climb_mps: PosFloat = 15.0
    rcs_m2: PosFloat = 5.0
    p_transponder_on: Prob = 0.95


class Bird(_Model):
    site: str
    count: Annotated[int, Field(ge=0)] = 20
    radius_m: PosFloat = 6_000.0
    speed_mps: PosFloat = 12.0
    rcs_m2: PosFloat = 0.01
    altitude_m: PosFloat = 150.0


class Intruders(_Model):
    site: str
    count: Annotated[int, Field(ge=1)] = 4
    breach_s: NonNeg = 1_800.0
    breach_at: LatLon
    target: str = Field(description="asset they head for")
    speed_mps: PosFloat = 1.5
    response_time_s: PosFloat = Field(
        300.0, description="time from alarm until a response team stops them"
    )


# --------------------------------------------------------------------------- doctrine


class Operator(_Model):
    decision_time_s: PosFloat = Field(8.0, description="median time to approve an engagement")
    decision_time_sigma: NonNeg = Field(0.5, description="lognormal shape")
    p_approve: Prob = 0.97
    timeout_s: PosFloat = 60.0


class Doctrine(_Model):
    weapons_control: Literal["free", "tight", "hold"] = "free"
    p_hostile_free: Prob = Field(0.5, description="weapons free: engage above this P(hostile)")
    p_hostile_tight: Prob = Field(0.9, description="weapons tight: engage above this")
    decision_period_s: PosFloat = 1.0
    assignment: Literal["greedy", "optimal"] = "greedy"
    cost_weight: NonNeg = Field(0.0, description="λ: value units per USD")
    nfz_epsilon: Prob = Field(0.01, description="max P(impact in a no-fire zone) per shot")
    soft_kill_first: bool = Field(
        True, description="hold kinetic fire on GNSS-dependent tracks a jammer covers"
    )
    soft_kill_wait_s: NonNeg = Field(
        40.0, description="how long a covered track is left to the jammer before kinetic fire"
    )
    kinetic_reserve_s: NonNeg = Field(
        60.0, description="fire kinetically anyway once time-to-go falls below this"
    )
    hold_fire_on_spoofed: bool = Field(
        True, description="hold kinetic fire on tracks a radiating spoofer is leading to its "
        "divert point (for as long as it takes; the kinetic reserve still applies)"
    )
    kill_assessment_delay_s: NonNeg = 3.0
    kill_assessment_p_correct: Prob = 0.95
    operator: Operator = Operator()
    human_in_loop: bool = True


# --------------------------------------------------------------------------- reference


class ReferenceFigure(_Model):
    value: float
    source: str


class ReferenceOutcome(_Model):
    source: str
    figures: dict[
        Literal["shot_down", "forced_down", "forced_down_crashed", "leaked", "assets_hit"],
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
    name: str
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    duration_s: PosFloat = 10_800.0
    night: bool = False
    origin: LatLon
    wind: Wind = Wind()
    sites: list[Site] = Field(min_length=1)
    sensors: list[Sensor] = []
    effectors: list[Effector] = []
    airframes: dict[str, Airframe] = {}
    raids: list[Raid] = []
    own_aircraft: list[OwnAircraft] = []
    birds: list[Bird] = []
    intruders: list[Intruders] = []
    doctrine: Doctrine = Doctrine()
    reference_outcome: ReferenceOutcome | None = None
    assumptions: list[Assumption] = []

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[Site]) -> list[Site]:
        names = [s.name for s in sites]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"site names must be unique: {sorted(dup)}")
        return sites

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        # Cross-references are checked here so the error names the field that dangles.
        sites = {s.name for s in self.sites}
        assets = {a.name for s in self.sites for a in s.assets}
        errors: list[str] = []
        for group, items in (("sensors", self.sensors), ("effectors", self.effectors)):
            names = [i.name for i in items]
            for k, item in enumerate(items):
                if item.site not in sites:
                    errors.append(f"{group}.{k}.site: unknown site {item.site!r}")
                if names.count(item.name) > 1:
                    errors.append(f"{group}.{k}.name: duplicate name {item.name!r}")
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
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def site(self, name: str) -> Site:
        return next(s for s in self.sites if s.name == name)
