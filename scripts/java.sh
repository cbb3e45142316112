#!/usr/bin/env bash
# A Java runtime for the Spark engine (muster resolve --engine spark).
#
#   scripts/java.sh ensure     install Debian's `default-jre-headless` when no Java 17+
#                              runtime is found (JAVA_HOME/bin/java, else `java` on PATH)
#   scripts/java.sh version    print the major version of that runtime (exit 1 if none)
#
# Spark 4 needs Java 17 or newer. As root the package is installed directly,
# otherwise through sudo; without either, the script says what to install.
set -euo pipefail

MIN_JAVA=17

die() { printf 'java.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'java.sh: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# The java binary PySpark will use: $JAVA_HOME/bin/java when JAVA_HOME is set (even
# if it is not there: Spark would fail the same way), else the one on PATH.
java_bin() {
    if [ -n "${JAVA_HOME:-}" ]; then
        [ -x "$JAVA_HOME/bin/java" ] || return 1
        printf '%s\n' "$JAVA_HOME/bin/java"
    else
        command -v java 2>/dev/null || return 1
    fi
}

# Major version of a java binary: 8 for "1.8.0_392", 17 for "17.0.15".
java_major() {
    local out v
    out=$("$1" -version 2>&1) || return 1
    v=$(printf '%s\n' "$out" | sed -n 's/.*version "\([0-9][0-9._]*\).*/\1/p' | head -n 1)
    [ -n "$v" ] || return 1
    case $v in
        1.*) v=${v#1.}; printf '%s\n' "${v%%.*}" ;;
        *) printf '%s\n' "${v%%[._]*}" ;;
    esac
}

current_major() {
    local bin
    bin=$(java_bin) || return 1
    java_major "$bin"
}

as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "no Java $MIN_JAVA+ runtime and you are not root and have no sudo.
  Install one yourself, e.g. as root:
    apt-get update && apt-get install -y --no-install-recommends default-jre-headless
  (or set JAVA_HOME to a Java $MIN_JAVA+ installation)"
    fi
}

cmd_ensure() {
    local major
    if major=$(current_major) && [ "$major" -ge "$MIN_JAVA" ]; then
        log "Java $major found: $(java_bin)"
        return 0
    fi
    if [ -n "${JAVA_HOME:-}" ]; then
        die "JAVA_HOME=$JAVA_HOME has no Java $MIN_JAVA+ runtime (bin/java${major:+ is Java $major}), and Spark uses it: point it at Java $MIN_JAVA+ or unset it"
    fi
    if [ -n "${major:-}" ]; then
        log "Java $major at $(java_bin) is too old (Spark needs $MIN_JAVA+); installing default-jre-headless"
    else
        log "no Java runtime found; installing Debian package 'default-jre-headless'"
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "no apt-get here; install a Java $MIN_JAVA+ runtime and put it on PATH (or set JAVA_HOME)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends default-jre-headless
    if ! major=$(current_major) || [ "$major" -lt "$MIN_JAVA" ]; then
        die "installed default-jre-headless but still no Java $MIN_JAVA+ on PATH (this release's default JRE may be older; install openjdk-17-jre-headless or newer)"
    fi
    log "Java $major installed: $(java_bin)"
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
        ensure) [ $# -eq 0 ] || die "usage: java.sh ensure"; cmd_ensure ;;
        version) [ $# -eq 0 ] || die "usage: java.sh version"; current_major ;;
        *) die "usage: java.sh {ensure|version}" ;;
    esac
}

# Sourcing the file (for tests of its functions) defines them without running main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
