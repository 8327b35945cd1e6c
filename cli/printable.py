"""Text from websites made safe for a terminal: no control sequences, no rich markup.

An error message or a post link can carry text a site chose. Printed raw, an ANSI escape
in it can clear the screen, rewrite earlier lines, retitle the window or plant a
hyperlink; printed through rich, a ``[...]`` in it is read as markup (or crashes the
print). Everything fleetbot prints that may hold such text goes through here.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

# Bidirectional overrides and isolates reorder what follows them on screen.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``)."""
    return "".join(_char(c, newlines) for c in text)


def markup_safe(text: str) -> str:
    """``printable(text, newlines=False)`` with rich markup escaped, for ``console.print``."""
    return escape(printable(text, newlines=False))


def _char(char: str, newlines: bool) -> str:
    if char == "\t" or (char == "\n" and newlines):
        return char
    if char in _BIDI or unicodedata.category(char) == "Cc":
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char
