"""Compressed-sensing recovery experiment."""
