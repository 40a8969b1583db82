"""Learned CountSketch for low-rank approximation (Indyk, Vakilian & Yuan, NeurIPS 2019)."""
