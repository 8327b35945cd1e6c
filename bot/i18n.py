"""Every text the bot sends comes from here: Fluent catalogs in English and Russian.

The language follows the sender's Telegram ``language_code`` unless ``bot.language``
forces one. Messages sent later (summaries, questions) use the language stored with the
run that owes them. Command names stay English.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from fluent.runtime import FluentBundle, FluentResource

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
Choice = Literal["auto", "en", "ru"]


MAX_ARG_CHARS = 2000  # below Fluent's 2500-character limit for one placeable


class Texts:
    """Formats messages of one language; missing ones fall back to English."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        chain = dict.fromkeys([self.language, DEFAULT_LANGUAGE])
        self._bundles = [_bundle(code) for code in chain]

    def __call__(self, message_id: str, **args: Any) -> str:
        """The message ``message_id`` with its arguments filled in.

        Long string arguments are cut: Fluent prints ``{???}`` instead of any argument over
        2500 characters (a /warmup naming 700 unknown labels, an /import of 200 accounts).
        """
        args = {key: _cut(value) for key, value in args.items()}
        for bundle in self._bundles:
            if bundle.has_message(message_id):
                pattern = bundle.get_message(message_id).value
                if pattern is not None:
                    text, _errors = bundle.format_pattern(pattern, args)
                    return str(text)
        return message_id


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ARG_CHARS:
        return value[: MAX_ARG_CHARS - 1] + "…"
    return value


def _bundle(language: str) -> FluentBundle:
    # Read once at first use (cached via texts()); small files shipped with the package.
    source = (LOCALES_DIR / language / "fleetbot.ftl").read_text(encoding="utf-8")
    bundle = FluentBundle([language], use_isolating=False)
    bundle.add_resource(FluentResource(source))
    return bundle


@cache
def texts(language: str) -> Texts:
    """The (cached) catalog for a language."""
    return Texts(language)


def pick_language(choice: Choice, language_code: str | None) -> str:
    """The language to answer in: forced by config, else the user's, else English."""
    if choice != "auto":
        return choice
    code = (language_code or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE
