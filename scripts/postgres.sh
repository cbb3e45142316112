#!/usr/bin/env bash
# Throwaway PostgreSQL servers for tests.
#
#   scripts/postgres.sh ensure           install Debian's `postgresql` server package
#                                        if no initdb exists under /usr/lib/postgresql/*/bin
#   scripts/postgres.sh bindir           print the newest /usr/lib/postgresql/N/bin
#   scripts/postgres.sh start DIR PORT   initdb DIR (if not yet a cluster) and start a
#                                        server on 127.0.0.1:PORT, socket in DIR, log DIR/log
#   scripts/postgres.sh stop DIR         stop the server of DIR (fast, then immediate)
#   scripts/postgres.sh status DIR       exit 0 if the server of DIR is running
#
# PostgreSQL refuses to run as root. As root, every server program runs as the
# unprivileged `postgres` system user (created when missing) and DIR is chowned
# to it; all of the server's files (data, socket, log) stay inside DIR, so the
# repository may live where `postgres` can't read (e.g. /root). DIR's parent
# directories must be traversable by `postgres` (mktemp dirs under /tmp are fine
# once chmod 755). As any other user, everything runs as that user.
#
# The cluster is for tests only: trust auth, superuser `postgres`, UTF8, C locale,
# fsync off. Never point DIR at data you want to keep. max_wal_size is raised as a
# server that takes bulk loads should have it (docs/operations.md): with the default
# 1 GB, ingesting a million persons forced a checkpoint every 7 seconds. And
# random_page_cost is 1.1, as for a server whose data is on SSD or in memory
# (docs/operations.md).
#
# Environment: MUSTER_PG_LIB_ROOT (default /usr/lib/postgresql) — where to look
# for N/bin/initdb; only meant for testing this script.
set -euo pipefail

PG_LIB_ROOT=${MUSTER_PG_LIB_ROOT:-/usr/lib/postgresql}
PG_USER=postgres

die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'postgres.sh: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# Newest N/bin directory under $PG_LIB_ROOT that holds an executable initdb.
find_bindir() {
    local d best="" best_v=-1 v
    for d in "$PG_LIB_ROOT"/*/bin; do
        [ -x "$d/initdb" ] || continue
        v=$(basename "$(dirname "$d")")
        v=${v%%.*}
        [[ $v =~ ^[0-9]+$ ]] || v=0
        if [ "$v" -gt "$best_v" ]; then
            best=$d
            best_v=$v
        fi
    done
    [ -n "$best" ] || return 1
    printf '%s\n' "$best"
}

bindir_or_die() {
    find_bindir || die "no PostgreSQL server found (no $PG_LIB_ROOT/*/bin/initdb); run: bash scripts/postgres.sh ensure"
}

# Run an apt-get command as root: directly, via sudo, or fail explaining what to install.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "the PostgreSQL server is not installed and you are not root and have no sudo.
  Install it yourself, e.g. as root:
    apt-get update && apt-get install -y --no-install-recommends postgresql
  (Debian package 'postgresql'; it provides $PG_LIB_ROOT/<version>/bin/initdb)"
    fi
}

ensure_pg_user() {
    is_root || return 0
    if ! getent passwd "$PG_USER" >/dev/null; then
        log "creating system user '$PG_USER'"
        useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER"
    fi
}

cmd_ensure() {
    local bindir
    if bindir=$(find_bindir); then
        log "PostgreSQL server found: $bindir"
    else
        log "no PostgreSQL server under $PG_LIB_ROOT; installing Debian package 'postgresql'"
        if ! command -v apt-get >/dev/null 2>&1; then
            die "no apt-get here; install the PostgreSQL server (initdb, pg_ctl, postgres) under $PG_LIB_ROOT/<version>/bin"
        fi
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends postgresql
        bindir=$(find_bindir) || die "installed 'postgresql' but still no $PG_LIB_ROOT/*/bin/initdb"
        log "PostgreSQL server installed: $bindir"
    fi
    ensure_pg_user
}

# Run a command as the user that owns the cluster: `postgres` when we are root,
# ourselves otherwise. cwd is / so that `postgres` never needs to read the caller's cwd.
run_pg() {
    if is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$PG_USER" -- "$@")
        else
            (cd / && su "$PG_USER" -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    else
        (cd / && "$@")
    fi
}

check_dir_arg() {
    local dir=$1
    [ -n "$dir" ] || die "DIR is empty"
    case $dir in
        /*) ;;
        *) die "DIR must be an absolute path: $dir" ;;
    esac
    [[ $dir =~ [[:space:]] ]] && die "DIR must not contain whitespace: $dir"
    return 0
}

show_log_tail() {
    local dir=$1
    if [ -r "$dir/log" ]; then
        log "last lines of $dir/log:"
        tail -n 30 "$dir/log" >&2 || true
    fi
}

cmd_start() {
    [ $# -eq 2 ] || die "usage: postgres.sh start DIR PORT"
    local dir=$1 port=$2 bindir out _
    check_dir_arg "$dir"
    if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        die "PORT must be a number in 1..65535: $port"
    fi
    # Unix socket paths are limited to 107 bytes.
    [ ${#dir} -le 80 ] || die "DIR is too long for a Unix socket path (keep it under 80 chars): $dir"
    bindir=$(bindir_or_die)

    mkdir -p "$dir"
    if is_root; then
        ensure_pg_user
        chown "$PG_USER:" "$dir"
        run_pg test -w "$dir" \
            || die "user '$PG_USER' cannot write $dir (a parent directory is not traversable by it? e.g. chmod 755 the mktemp dir)"
    fi
    chmod 700 "$dir"

    if run_pg "$bindir/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        die "a server is already running in $dir"
    fi

    if [ ! -f "$dir/PG_VERSION" ]; then
        if [ -n "$(ls -A "$dir")" ]; then
            die "$dir is neither empty nor a PostgreSQL data directory"
        fi
        if ! out=$(run_pg "$bindir/initdb" -D "$dir" --auth=trust -U "$PG_USER" \
                --encoding=UTF8 --locale=C --no-sync 2>&1); then
            printf '%s\n' "$out" >&2
            die "initdb failed for $dir"
        fi
    fi

    if ! run_pg "$bindir/pg_ctl" -D "$dir" \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=4GB -c random_page_cost=1.1 -c max_connections=200" \
            -l "$dir/log" -w -t 60 -s start; then
        show_log_tail "$dir"
        # pg_ctl may give up while the postmaster lives on; don't leave it behind.
        run_pg "$bindir/pg_ctl" -D "$dir" -m immediate -s stop >/dev/null 2>&1 || true
        die "could not start PostgreSQL in $dir on port $port"
    fi

    for _ in $(seq 1 60); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            return 0
        fi
        sleep 0.5
    done
    show_log_tail "$dir"
    die "PostgreSQL in $dir did not accept connections on 127.0.0.1:$port within 30s"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: postgres.sh stop DIR"
    local dir=$1 bindir
    check_dir_arg "$dir"
    [ -f "$dir/postmaster.pid" ] || return 0   # not running (or never started)
    bindir=$(bindir_or_die)
    if ! run_pg "$bindir/pg_ctl" -D "$dir" -m fast -w -t 30 -s stop; then
        log "fast shutdown failed; trying immediate shutdown"
        run_pg "$bindir/pg_ctl" -D "$dir" -m immediate -w -t 30 -s stop \
            || die "could not stop PostgreSQL in $dir"
    fi
}

cmd_status() {
    [ $# -eq 1 ] || die "usage: postgres.sh status DIR"
    check_dir_arg "$1"
    run_pg "$(bindir_or_die)/pg_ctl" -D "$1" status
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
        ensure) [ $# -eq 0 ] || die "usage: postgres.sh ensure"; cmd_ensure ;;
        bindir) bindir_or_die ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        *) die "usage: postgres.sh {ensure|bindir|start DIR PORT|stop DIR|status DIR}" ;;
    esac
}

# Sourcing the file (for tests of its functions) defines them without running main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
