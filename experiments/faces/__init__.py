"""Robust face recognition experiment."""
