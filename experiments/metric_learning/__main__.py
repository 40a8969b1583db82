"""Command line: python -m experiments.metric_learning [--tiny] [--anchors] [--out DIR]"""

from experiments.metric_learning.main import main

if __name__ == "__main__":
    main()
