"""Hostile programs drawn from classes, through the real command (docs/reliability.md)."""
