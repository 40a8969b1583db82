"""Configs of the compressed-factorization experiment."""
