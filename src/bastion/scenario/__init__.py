"""bastion.scenario"""
