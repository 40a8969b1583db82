"""Command line: python -m experiments.faces --config=... --workdir=..."""

from experiments._cli import launch

if __name__ == "__main__":
    launch("faces", "experiments.faces.main:run")
