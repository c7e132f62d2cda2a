"""bastion.tracking — multi-target tracker for drones.

Public API::

    from bastion.tracking import Tracker, TrackerConfig, Tracks, TrackStatus, polar_to_enu
    trk = Tracker()                      # defaults tuned for small drones
    tracks = trk.step(t_s, z, R)         # z: (m, 3) ENU m, R: (m, 3, 3) or (3, 3)

See docs/tracking.md.
"""

from bastion.core.convert import polar_to_enu

from .config import TrackerConfig
from .tracker import Tracker
from .tracks import Tracks, TrackStatus

__all__ = ["TrackStatus", "Tracker", "TrackerConfig", "Tracks", "polar_to_enu"]
