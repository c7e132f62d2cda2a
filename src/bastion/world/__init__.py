"""bastion.world"""
