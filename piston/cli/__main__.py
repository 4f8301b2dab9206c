"""``python -m piston.cli ...`` (also ``torchrun -m piston.cli ...``)."""

from __future__ import annotations

import sys

from piston.cli import main

if __name__ == "__main__":
    sys.exit(main())
