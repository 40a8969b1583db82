"""Command line: python -m experiments.msi_denoise --config=... --workdir=..."""

from experiments._cli import launch
from experiments.msi_denoise.main import run

if __name__ == "__main__":
    launch("msi_denoise", run)
