#!/usr/bin/env bash
# Debian's headless-capable Chromium for the browser tests of the arena page (tests/web).
#
#   scripts/chromium.sh          install /usr/bin/chromium when it is missing (idempotent)
#   scripts/chromium.sh status   exit 0 when it is installed and starts, 1 otherwise
#
# Playwright for Python drives this system browser (executable_path=/usr/bin/chromium):
# `playwright install` downloads a browser build of its own, which is not wanted here.
# When chromium is missing and this runs as root it is installed with apt-get, otherwise
# the script stops with a message saying how to install it.
set -euo pipefail

BROWSER="${ARENA_CHROMIUM:-/usr/bin/chromium}"

die() {
    echo "chromium.sh: $*" >&2
    exit 1
}

works() {
    [[ -x "$BROWSER" ]] && "$BROWSER" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1
}

case "${1:-install}" in
    status)
        works
        ;;
    install)
        if works; then
            exit 0
        fi
        if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
            die "$BROWSER is missing; install it (Debian/Ubuntu: sudo apt-get install -y chromium) and retry"
        fi
        echo "chromium.sh: installing chromium with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt_get() { apt-get -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends "$@" >&2; }
        apt_get install chromium fonts-dejavu-core || { apt_get update && apt_get install chromium fonts-dejavu-core; } ||
            die "apt-get could not install chromium"
        works || die "chromium was installed but '$BROWSER --version' fails"
        ;;
    *)
        echo "usage: scripts/chromium.sh [install|status]" >&2
        exit 2
        ;;
esac
