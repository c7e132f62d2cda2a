"""The live driver: sensor feeds in, the C2 stages on the wall clock, a person approving
every engagement (docs/live.md)."""
