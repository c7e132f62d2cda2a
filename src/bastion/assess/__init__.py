"""Assessment: identification and threat ranking of tracks."""

from bastion.assess.identify import IdentModel, classify
from bastion.assess.threat import Threats, assess_threats

__all__ = ["IdentModel", "Threats", "assess_threats", "classify"]
