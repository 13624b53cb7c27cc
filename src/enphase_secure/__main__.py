"""``python -m enphase_secure``: what the Jeedom plugin runs from its venv (no console script there)."""

import sys

from .cli import main

sys.exit(main())
