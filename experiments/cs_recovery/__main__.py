"""Command line: python -m experiments.cs_recovery --config=... --workdir=..."""

from experiments._cli import launch

if __name__ == "__main__":
    launch("cs_recovery", "experiments.cs_recovery.main:run")
