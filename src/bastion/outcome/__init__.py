"""bastion.outcome"""
