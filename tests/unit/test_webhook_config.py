"""Webhook mode needs its URL and a secret Telegram can send back; polling needs neither."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import BotConfig


def test_polling_is_the_default_and_needs_nothing_more() -> None:
    assert BotConfig().mode == "polling"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({}, "needs bot.webhook_url"),
        ({"webhook_url": "ftp://x/hook", "webhook_secret": "abc"}, "needs bot.webhook_url"),
        ({"webhook_url": "https://x/hook"}, "needs bot.webhook_secret"),
        ({"webhook_url": "https://x/hook", "webhook_secret": "has space"}, "A-Z, a-z"),
        ({"webhook_url": "https://x/hook", "webhook_secret": "x" * 257}, "1-256"),
        (
            {"webhook_url": "https://x/hook", "webhook_secret": "ok", "webhook_listen": "8081"},
            "HOST:PORT",
        ),
    ],
)
def test_webhook_mode_refuses_what_telegram_could_not_use(
    changes: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        BotConfig.model_validate({"mode": "webhook", **changes})


def test_a_complete_webhook_config() -> None:
    config = BotConfig.model_validate(
        {"mode": "webhook", "webhook_url": "https://bot.example.com/tg", "webhook_secret": "a_b-1"}
    )
    assert config.webhook_listen == "127.0.0.1:8081"
    assert "a_b-1" not in repr(config)
