"""Effector–target (weapon–target) assignment under rules of engagement.

Minimise Σ_j V_j Π_i (1 − p_ij)^x_ij + cost_weight · Σ_ij cost_i x_ij over integer shot
counts x_ij ≥ 0 with Σ_j x_ij ≤ capacity_i and x_ij = 0 on infeasible pairs. See
``docs/assignment.md`` for the methods and their measured quality.
"""

from bastion.respond.assign.result import Assignment
from bastion.respond.assign.solver import METHODS, Method, solve

__all__ = ["METHODS", "Assignment", "Method", "solve"]
