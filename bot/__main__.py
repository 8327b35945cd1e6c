"""``python -m bot`` is the same as ``fleetbot``."""

import sys

from bot.cli import main

sys.exit(main())
