"""``python -m cli`` is the same as ``fleetbot``."""

import sys

from cli.main import main

sys.exit(main())
