"""GNSS denial and spoofing from a free-space link budget.

J/S at the drone's receiver = EIRP − FSPL(d, f) + G_rx(toward jammer) − S_gnss, with
FSPL = 20·log10(4π d f / c). A receiver loses lock where J/S exceeds its threshold;
a spoofer captures it where its signal exceeds the true one by the capture margin. Both
give a radius — the planner's jammer power and placement move it, which moves the outcome.
Line of sight is assumed (a mast-mounted emitter and drones at a few hundred metres see
each other well beyond these ranges).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["blanked", "js_db", "link_js_db", "radius_m"]

_C = 299_792_458.0


def fspl_db(d_m: NDArray[np.float64], f_hz: float | NDArray[np.float64]
            ) -> NDArray[np.float64]:
    return 20.0 * np.log10(4 * math.pi * np.maximum(d_m, 1.0) * f_hz / _C)


def js_db(eirp_dbw: float, f_mhz: float | NDArray[np.float64], d_m: NDArray[np.float64],
          g_rx_dbi: NDArray[np.float64], signal_dbw: NDArray[np.float64]) -> NDArray[np.float64]:
    """J/S at a GNSS receiver: the jammer's power through free space *at the receiver's
    frequency* (the band it jams, not the jammer's nominal ``frequency_mhz``) against the
    satellites' signal."""
    f_mhz = np.asarray(f_mhz, float)
    return eirp_dbw - fspl_db(d_m, f_mhz * 1e6) + g_rx_dbi - signal_dbw


def link_js_db(eirp_dbw: float, f_mhz: float, d_jammer_m: NDArray[np.float64],
               control_eirp_dbw: NDArray[np.float64], d_control_m: NDArray[np.float64]
               ) -> NDArray[np.float64]:
    """J/S of a control uplink at the drone: the jammer's power against the ground
    controller's, both through free space at the link frequency, received on the same
    (omnidirectional, ASSUMED) antenna so its gain cancels."""
    f = f_mhz * 1e6
    return (eirp_dbw - fspl_db(d_jammer_m, f)) - (control_eirp_dbw - fspl_db(d_control_m, f))


def blanked(sectors: NDArray[np.float64], dx: NDArray[np.float64],
            dy: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where a jammer with (k, 2) [from°, to°] blanked sectors does not radiate: targets at
    offsets (dx east, dy north) from it whose bearing lies in a sector (from > to wraps)."""
    out = np.zeros(np.shape(dx), bool)
    if len(sectors) == 0:
        return out
    az = np.mod(np.degrees(np.arctan2(dx, dy)), 360.0)
    for a0, a1 in np.asarray(sectors, float).reshape(-1, 2):
        out |= ((az >= a0) & (az <= a1)) if a0 <= a1 else ((az >= a0) | (az <= a1))
    return out


def radius_m(eirp_dbw: float, f_mhz: float, g_rx_dbi: float, signal_dbw: float,
             threshold_db: float) -> float:
    """Distance at which J/S falls to the threshold."""
    fspl_max = eirp_dbw + g_rx_dbi - signal_dbw - threshold_db
    return float(10 ** (fspl_max / 20.0) * _C / (4 * math.pi * f_mhz * 1e6))
