"""World truth: kinematics of drones, birds and own aircraft as arrays."""

from bastion.sim.world.air import AirState, Fate, Kind, Mode, Nav
from bastion.sim.world.build import DroneInfo, build_air, wind_vector

__all__ = ["AirState", "DroneInfo", "Fate", "Kind", "Mode", "Nav", "build_air", "wind_vector"]
