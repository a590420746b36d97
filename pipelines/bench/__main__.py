"""python -m pipelines.bench [options]: the same as `lms-warehouse bench`."""

from __future__ import annotations

import argparse
import sys

from . import add_arguments, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m pipelines.bench")
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
