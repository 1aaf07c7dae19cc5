"""`python -m benchmarks` (what `make bench` runs)."""

from __future__ import annotations

import sys

from benchmarks.reservations import run

if __name__ == "__main__":
    sys.exit(run())
