"""Configs of the background subtraction experiment."""
