"""bastion.respond"""
