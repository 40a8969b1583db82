"""Command line: python -m experiments.msi_denoise --config=... --workdir=..."""

from experiments._cli import launch

if __name__ == "__main__":
    launch("msi_denoise", "experiments.msi_denoise.main:run")
