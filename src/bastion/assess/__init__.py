"""bastion.assess"""
