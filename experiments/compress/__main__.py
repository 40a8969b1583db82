"""Command line: python -m experiments.compress --config=... --workdir=..."""

from experiments._cli import launch

if __name__ == "__main__":
    launch("compress", "experiments.compress.main:run")
