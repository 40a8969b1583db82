"""Command line: python -m experiments.compress --config=... --workdir=..."""

from experiments._cli import launch
from experiments.compress.main import run

if __name__ == "__main__":
    launch("compress", run)
