"""The storage package's one exception root; the tree is drawn in automation/errors.py."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be opened or used; the message names what is wrong."""
