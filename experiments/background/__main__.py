"""Command line: python -m experiments.background --config=... --workdir=..."""

from experiments._cli import launch
from experiments.background.main import run

if __name__ == "__main__":
    launch("background", run)
