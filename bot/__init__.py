"""fleetbot's front ends: the Telegram bot and the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fleetbot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
