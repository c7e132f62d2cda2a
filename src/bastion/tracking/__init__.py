"""bastion.tracking"""
