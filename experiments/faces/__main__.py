"""Command line: python -m experiments.faces --config=... --workdir=..."""

from experiments._cli import launch
from experiments.faces.main import run

if __name__ == "__main__":
    launch("faces", run)
