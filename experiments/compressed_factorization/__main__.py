"""Command line: python -m experiments.compressed_factorization --config=... --workdir=..."""

from experiments._cli import launch
from experiments.compressed_factorization.main import run, validate

if __name__ == "__main__":
    launch("compressed_factorization", run, validate=validate)
