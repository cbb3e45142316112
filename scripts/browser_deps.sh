#!/usr/bin/env bash
# The browser the real-browser test (tests/test_service_browser.py) drives through
# Playwright: Debian's Chromium. Playwright's own browser download is never used (the
# network is closed to it); the test launches /usr/bin/chromium.
#
#   scripts/browser_deps.sh ensure    apt-get install what is missing (nothing when all
#                                     are there: a fast no-op)
#   scripts/browser_deps.sh missing   print the missing packages (exit 1 if any)
#
# As root the packages are installed directly, otherwise through sudo; without
# either, the script says what to install.
set -euo pipefail

# fonts-dejavu-core: the pages show Cyrillic names.
PACKAGES=(chromium chromium-driver fonts-dejavu-core)

die() { printf 'browser_deps.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'browser_deps.sh: %s\n' "$*" >&2; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing() {
    local p
    for p in "${PACKAGES[@]}"; do
        installed "$p" || printf '%s\n' "$p"
    done
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "missing Debian packages and you are not root and have no sudo. As root:
    apt-get update && apt-get install -y --no-install-recommends $*"
    fi
}

cmd_ensure() {
    local need
    command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system: install Chromium as /usr/bin/chromium"; return 0; }
    mapfile -t need < <(missing)
    if [ "${#need[@]}" -eq 0 ]; then
        return 0
    fi
    log "installing ${need[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
}

main() {
    case ${1:-} in
        ensure) cmd_ensure ;;
        missing) out=$(missing); [ -z "$out" ] || { printf '%s\n' "$out"; exit 1; } ;;
        *) die "usage: browser_deps.sh {ensure|missing}" ;;
    esac
}

main "$@"
