#!/usr/bin/env bash
# The 1M-user scale run on PostgreSQL (the twin of scale_sqlite_1m.sh): on a fresh database
# scimd_scale_<random> (created here on postgres://postgres@127.0.0.1:5432, dropped on exit),
# users are bulk-written with seed_postgres.py (no HTTP) and VACUUM ANALYZEd, then
# filter/get/patch/page run over HTTP with load.sh at SMALL (10 000) and LARGE (1 000 000)
# users; prints p50 ratios and scimd's peak RSS.
#   SCIMD_BIN=... benches/load/scale_postgres_1m.sh     (default: target/release/scimd)
# Env: SMALL, LARGE, DURATION (10s), CONNS (32), OUT_DIR, TOOLS. Loopback only; the server
# is stopped by its PID.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=${TOOLS:-/work/shared/tools}
# shellcheck source=benches/load/need_wrk.sh
. "$HERE/need_wrk.sh"
SCIMD_BIN=${SCIMD_BIN:-${CARGO_TARGET_DIR:-$HERE/../../target}/release/scimd}
SMALL=${SMALL:-10000}; LARGE=${LARGE:-1000000}
DURATION=${DURATION:-10s}; CONNS=${CONNS:-32}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/scimd-1m-pg.XXXXXX)}; mkdir -p "$OUT_DIR"
PG=postgres://postgres@127.0.0.1:5432
DBNAME=scimd_scale_$(python3 -c 'import secrets; print(secrets.token_hex(6))')
URL=$PG/$DBNAME; USERS=$OUT_DIR/users.tsv; : >"$USERS"
PID=; CREATED=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -n "$CREATED" ]; then psql -X -q -d "$PG/postgres" -c "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >&2 || true; fi
}
trap cleanup EXIT
# shellcheck source=benches/load/scale_lib.sh
. "$HERE/scale_lib.sh"
psql -X -q -v ON_ERROR_STOP=1 -d "$PG/postgres" -c "CREATE DATABASE $DBNAME"; CREATED=1
log "database $DBNAME"
T=$("$SCIMD_BIN" --database-url "$URL" --json tenant create --name scale | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
K=$("$SCIMD_BIN" --database-url "$URL" --json token create --tenant "$T" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
seed() {  # N PREFIX
  python3 "$HERE/seed_postgres.py" "$URL" "$T" "$1" "$USERS" "$2"
  psql -X -q -v ON_ERROR_STOP=1 -d "$URL" -c "VACUUM ANALYZE"  # autovacuum may be off
}
dbsize() { psql -X -At -d "$URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"; }
log "seed $SMALL users"; seed "$SMALL" seed1
log "measure @$SMALL"; measure small "$SMALL"
log "seed $((LARGE - SMALL)) more"; seed "$((LARGE - SMALL))" seed2
log "measure @$LARGE ($(dbsize) database)"; measure large "$LARGE"
report
