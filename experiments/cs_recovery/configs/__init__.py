"""Configs of the compressed-sensing recovery experiment."""
