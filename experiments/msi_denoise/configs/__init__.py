"""Configs of the multispectral denoising experiment."""
