"""Assessment: identification and threat ranking of tracks."""

from bastion.assess.identify import classify
from bastion.assess.threat import Threats, assess_threats

__all__ = ["Threats", "assess_threats", "classify"]
