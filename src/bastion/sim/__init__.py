"""bastion.sim"""
