"""Configs of the robust face recognition experiment."""
