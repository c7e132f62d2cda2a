"""bastion.sensors"""
