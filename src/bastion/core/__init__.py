"""Contracts every stage and both drivers share, at the bottom of the import graph.

* :mod:`bastion.core.detections` — the batch of reports sensors (simulated or live) hand the
  tracker, and the identity classes evidence is about.
* :mod:`bastion.core.convert` — polar ⇄ ENU measurement conversion.
* :mod:`bastion.core.events` — the append-only, versioned event log and its schema.
* :mod:`bastion.core.rng` — random streams keyed by (replication, subsystem, entity).
* :mod:`bastion.core.numerics` — NumPy-exact helpers for compiled kernels.

Nothing here imports any other part of bastion (CI checks the layering).
"""
