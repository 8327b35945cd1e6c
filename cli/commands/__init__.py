"""One module per CLI command group; each has ``register(sub, common)``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time before Python 3.12
    SubParsers = argparse._SubParsersAction
