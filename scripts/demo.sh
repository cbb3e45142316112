#!/usr/bin/env bash
# The README's first command (`make demo`): build a register from synthetic agency
# extracts on the embedded default (SQLite, no server), show the result, make one
# account of each role and start the service on it.
#
# Environment: MUSTER_DEMO_DIR (default demo), MUSTER_DEMO_PERSONS (5000),
# MUSTER_DEMO_PORT (8000), MUSTER_DEMO_SERVE (1: always serve; 0: never; unset: serve
# only when stdin is a terminal, so that `make demo` in a script or CI ends).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=${MUSTER_DEMO_DIR:-demo}
PERSONS=${MUSTER_DEMO_PERSONS:-5000}
MUSTER=(.venv/bin/muster)
bash scripts/system_deps.sh ensure  # Pango and fonts for the notices (PDF)
unset MUSTER_DATABASE_URL MUSTER_WORKSPACE  # the demo always uses the embedded SQLite

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$DEMO"
step "1. A workspace with the default (fictional) profile"
"${MUSTER[@]}" init "$DEMO/register"

step "2. Synthetic extracts of seven agencies for $PERSONS people (with noise and traps)"
"${MUSTER[@]}" synth "$DEMO/extracts" --persons "$PERSONS" --seed 1

step "3. Declare the sources (see $DEMO/extracts/sources.toml)"
"${MUSTER[@]}" -w "$DEMO/register" sources add "$DEMO/extracts/sources.toml"

step "4. Ingest every extract"
"${MUSTER[@]}" -w "$DEMO/register" ingest --all

step "5. Ingesting the same files again adds nothing"
"${MUSTER[@]}" -w "$DEMO/register" ingest --all

step "6. The register"
"${MUSTER[@]}" -w "$DEMO/register" status

step "7. Quarantine: rows that could not be accepted, and why"
"${MUSTER[@]}" -w "$DEMO/register" quarantine list --limit 12
"${MUSTER[@]}" -w "$DEMO/register" export quarantine --out "$DEMO/quarantine.csv"

step "8. Resolve: one person per human, explained"
"${MUSTER[@]}" -w "$DEMO/register" resolve
"${MUSTER[@]}" -w "$DEMO/register" review list --limit 5
"${MUSTER[@]}" -w "$DEMO/register" export links --out "$DEMO/links.csv"
"${MUSTER[@]}" -w "$DEMO/register" export persons --out "$DEMO/persons.csv"
# A person with several source records: the golden record, its sources and why they were linked.
PERSON=$(awk -F, 'NR > 1 { n[$3]++ } END { for (p in n) if (n[p] >= 5) { print p; exit } }' "$DEMO/links.csv" | tr -d '"')
"${MUSTER[@]}" -w "$DEMO/register" person show "$PERSON"

step "9. Eligibility on a date, clarification requests, and a call-up plan drawn by lot"
"${MUSTER[@]}" -w "$DEMO/register" eligibility evaluate --as-of 2024-06-01
"${MUSTER[@]}" -w "$DEMO/register" eligibility explain "$PERSON" --as-of 2024-06-01
"${MUSTER[@]}" -w "$DEMO/register" casework generate --as-of 2024-06-01
printf 'region,quota\nMOW,5\nSPE,3\nMOS,3\nKDA,2\nTVE,1\n' > "$DEMO/quotas.csv"
"${MUSTER[@]}" -w "$DEMO/register" callup plan --as-of 2024-06-01 --quotas "$DEMO/quotas.csv"
"${MUSTER[@]}" -w "$DEMO/register" callup verify 1
"${MUSTER[@]}" -w "$DEMO/register" export candidates 1 --out "$DEMO/candidates.csv"
"${MUSTER[@]}" -w "$DEMO/register" export callup 1 --out "$DEMO/callup.csv"

step "10. A few notices (PDF), and where they stand"
"${MUSTER[@]}" -w "$DEMO/register" notices issue 1 --out "$DEMO/notices" --limit 5
"${MUSTER[@]}" -w "$DEMO/register" notices status 1

step "11. The service: one account of each role (demo passwords, new each run)"
"${MUSTER[@]}" -w "$DEMO/register" users demo

printf '\nThe register is in %s (SQLite: %s).\n' "$DEMO/register" "$DEMO/register/muster.db"
SERVE=("${MUSTER[@]}" -w "$DEMO/register" serve --port "${MUSTER_DEMO_PORT:-8000}")
# Serve when someone is at the terminal (or MUSTER_DEMO_SERVE=1); scripts and CI, which
# need `make demo` to end, get the command instead (or set MUSTER_DEMO_SERVE=0).
if [ "${MUSTER_DEMO_SERVE:-}" = 1 ] || { [ -t 0 ] && [ "${MUSTER_DEMO_SERVE:-}" != 0 ]; }; then
    step "12. The service at http://127.0.0.1:${MUSTER_DEMO_PORT:-8000}/ (Ctrl-C stops it)"
    exec "${SERVE[@]}"
fi
printf 'Start the service with:  %s\nthen open http://127.0.0.1:%s/ and log in with an account above.\n' \
    "${SERVE[*]}" "${MUSTER_DEMO_PORT:-8000}"
