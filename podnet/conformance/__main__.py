"""``python -m podnet.conformance <corpus> [--strict] [--verbose]`` (``make conformance``)."""

from __future__ import annotations

import sys

from podnet.conformance.cases import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
