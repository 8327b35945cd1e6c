"""Guards for the rules the old Django app broke: nothing blocking, no browser in a transaction.

These read the source with `ast`, so a regression fails the build before it ships.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "bot", "automation", "storage")

# Calls that block the event loop (or belong to the sync world) and have async equivalents.
BLOCKING_CALLS = {
    "time.sleep": "use asyncio.sleep or wait on an event",
    "subprocess.run": "use asyncio.create_subprocess_exec",
    "subprocess.check_output": "use asyncio.create_subprocess_exec",
    "subprocess.call": "use asyncio.create_subprocess_exec",
}
BLOCKING_MODULES = {
    "requests": "use aiohttp",
    "playwright.sync_api": "use playwright.async_api",
    "django": "fleetbot is async end to end",
}
# Names that hold browser-side objects; awaiting them inside a transaction would hold the
# database lock for as long as a web page takes.
BROWSER_NAMES = {"page", "ctx", "context", "browser", "pool", "adapter", "site", "locator"}


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def test_the_guards_see_the_code() -> None:
    files = list(sources())
    assert len(files) > 20
    transactions = [
        node
        for _, tree in files
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncWith)
        and any(dotted(item.context_expr) == "in_transaction" for item in node.items)
    ]
    assert transactions, "no in_transaction() block found: the guard below checks nothing"


def test_no_blocking_calls_or_sync_libraries() -> None:
    problems = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (name := dotted(node.func)) in BLOCKING_CALLS:
                problems.append(f"{where(path, node)}: {name}() - {BLOCKING_CALLS[name]}")
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                for banned, hint in BLOCKING_MODULES.items():
                    if module == banned or module.startswith(banned + "."):
                        problems.append(f"{where(path, node)}: import {module} - {hint}")
    assert problems == []


def test_no_browser_work_inside_a_transaction() -> None:
    problems = []
    for path, tree in sources():
        for block in ast.walk(tree):
            if not isinstance(block, ast.AsyncWith) or not any(
                dotted(item.context_expr) == "in_transaction" for item in block.items
            ):
                continue
            for statement in block.body:
                for node in ast.walk(statement):
                    if not isinstance(node, ast.Await):
                        continue
                    root = dotted(node.value).split(".")[0]
                    if root in BROWSER_NAMES or dotted(node.value) == "asyncio.sleep":
                        problems.append(f"{where(path, node)}: awaits {dotted(node.value)}")
    assert problems == []


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ("import time\ntime.sleep(1)\n", True),
        ("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n", False),
    ],
)
def test_blocking_call_detection(snippet: str, found: bool) -> None:
    tree = ast.parse(snippet)
    calls = [dotted(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert ("time.sleep" in calls) is found
