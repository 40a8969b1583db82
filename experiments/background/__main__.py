"""Command line: python -m experiments.background --config=... --workdir=..."""

from experiments._cli import launch

if __name__ == "__main__":
    launch("background", "experiments.background.main:run")
