"""Reproductions of the two distributed papers (experiments/distributed/main.py)."""
