"""Runs, the runner, the browser pool, schedules and site adapters: no Telegram, no CLI."""
