"""Compressed factorization (Sharan, Tai, Bailis & Valiant, ICML 2019)."""
