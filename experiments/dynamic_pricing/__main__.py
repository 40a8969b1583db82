"""Command line: python -m experiments.dynamic_pricing [--tiny] [--out DIR]"""

from experiments.dynamic_pricing.main import main

if __name__ == "__main__":
    main()
