"""Multispectral image denoising experiment."""
