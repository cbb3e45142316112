#!/usr/bin/env bash
# Debian packages muster needs outside Python, by what needs them:
#   notices  WeasyPrint (notices as PDF) draws text with Pango/HarfBuzz, and a notice
#            in Cyrillic needs a font that has it (the default group)
#   browser  the real-browser test (tests/test_service_browser.py) drives Debian's
#            Chromium through Playwright; Playwright's own download is never used (the
#            network is closed to it), the test launches /usr/bin/chromium
#
#   scripts/system_deps.sh ensure [GROUP]    apt-get install what is missing (nothing
#                                            when all are there: a fast no-op)
#   scripts/system_deps.sh missing [GROUP]   print the missing packages (exit 1 if any)
#
# As root the packages are installed directly, otherwise through sudo; without
# either, the script says what to install.
set -euo pipefail

case ${2:-notices} in
    # libharfbuzz-subset0: font subsetting ~10x faster than fontTools (10,000 notices in minutes).
    notices) PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core)
             ELSEWHERE="make sure Pango and a Cyrillic font are installed" ;;
    # fonts-dejavu-core: the pages show Cyrillic names.
    browser) PACKAGES=(chromium chromium-driver fonts-dejavu-core)
             ELSEWHERE="install Chromium as /usr/bin/chromium" ;;
    *) printf 'system_deps.sh: error: unknown group %s (notices | browser)\n' "$2" >&2; exit 2 ;;
esac

die() { printf 'system_deps.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'system_deps.sh: %s\n' "$*" >&2; }

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
    command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system: $ELSEWHERE"; return 0; }
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
        *) die "usage: system_deps.sh {ensure|missing} [notices|browser]" ;;
    esac
}

main "$@"
