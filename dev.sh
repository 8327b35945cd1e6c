#!/usr/bin/env bash
# fleetbot's developer entry point. Each command sets everything up first (idempotent):
#   ./dev.sh demo [ARGS]   set up, then run `fleetbot demo` against the bundled demo site
#   ./dev.sh test [ARGS]   set up, then ruff, mypy and the whole pytest suite
#   ./dev.sh setup         only set up: .venv with fleetbot and its dev tools, plus a Chromium
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv

say() { printf '==> %s\n' "$*" >&2; }

setup_python() {
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "fleetbot needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "$PY" -m venv "$VENV"
    fi
    # Reinstall only when the dependency list changed.
    local stamp="$VENV/.fleetbot-installed"
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing fleetbot and its dev tools into $VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        echo "$want" > "$stamp"
    fi
}

browser_found() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import asyncio, sys
from automation.chromium import locate_chromium
from bot.config import load_settings
try:
    print(asyncio.run(locate_chromium(load_settings().automation)))
except Exception as exc:  # noqa: BLE001 - any failure means "not found" here
    print(exc, file=sys.stderr)
    sys.exit(1)
PY
}

can_apt() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
}

apt_install() {
    say "installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

setup_browser() {
    if path=$(browser_found); then
        # A full Chromium alone works, but headless runs cost a third of the CPU on the
        # headless shell: add it where Debian's packages can.
        case "$path" in
            *headless*) ;;
            *) if can_apt && [ "$path" = /usr/bin/chromium ]; then
                   apt_install chromium-headless-shell
                   path=$(browser_found)
               fi ;;
        esac
        say "browser: $path"
        return
    fi
    say "no Chromium yet: trying Playwright's download"
    if timeout 300 "$VENV/bin/playwright" install chromium >/dev/null 2>&1 && browser_found >/dev/null; then
        say "browser: Playwright's Chromium"
        return
    fi
    if can_apt; then
        say "Playwright's download failed: using Debian's packages"
        apt_install chromium chromium-headless-shell
        if path=$(browser_found); then
            say "browser: $path"
            return
        fi
    fi
    echo "no Chromium could be installed: run 'playwright install chromium', or install" \
        "your distribution's chromium and chromium-headless-shell packages, or set" \
        "automation.executable_path" >&2
    exit 1
}

# The tests drive a visible (headed) login window on a virtual display.
setup_test_tools() {
    if ! command -v Xvfb >/dev/null && can_apt; then
        apt_install xvfb xauth
    fi
}

setup() {
    setup_python
    setup_browser
}

case "${1:-}" in
    setup)
        setup
        ;;
    demo)
        shift
        setup
        exec "$VENV/bin/fleetbot" demo "$@"
        ;;
    test)
        shift
        setup
        setup_test_tools
        say "ruff"
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        say "mypy"
        "$VENV/bin/mypy"
        say "pytest"
        # Two workers: most tests wait on browsers, sites and subprocesses, so two of them
        # at a time finish in about two thirds of the time on two cores. Tests that share
        # the PostgreSQL server carry xdist_group("postgres") and run on one worker.
        # Tests marked "alone" measure the machine (the soak's memory) and run afterwards,
        # by themselves. Exit status 5 means the arguments selected no test for that pass.
        "$VENV/bin/pytest" -n "${FLEETBOT_TEST_WORKERS:-2}" --dist loadgroup -m "not alone" "$@" \
            || [ $? = 5 ]
        say "pytest: tests that run alone"
        "$VENV/bin/pytest" -m alone "$@" || [ $? = 5 ]
        ;;
    *)
        sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
