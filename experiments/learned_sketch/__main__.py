"""Command line: python -m experiments.learned_sketch --config=... --workdir=..."""

from experiments._cli import launch
from experiments.learned_sketch.main import run, validate

if __name__ == "__main__":
    launch("learned_sketch", run, validate=validate)
