"""Command line: python -m experiments.cs_recovery --config=... --workdir=..."""

from experiments._cli import launch
from experiments.cs_recovery.main import run

if __name__ == "__main__":
    launch("cs_recovery", run)
