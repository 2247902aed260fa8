"""``python -m roleplay.cli``."""

import sys

from roleplay.cli import main

sys.exit(main())
