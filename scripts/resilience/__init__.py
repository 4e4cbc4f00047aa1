"""Shared machinery of scripts/scale_check.py and scripts/resilience_check.py."""
