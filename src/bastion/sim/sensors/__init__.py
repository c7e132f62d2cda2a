"""bastion.sim.sensors"""
