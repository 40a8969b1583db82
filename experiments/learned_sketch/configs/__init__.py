"""Configs of the learned-sketch experiment."""
