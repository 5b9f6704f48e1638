#!/usr/bin/env bash
# The 1M-user scale run on SQLite (see docs/performance.md): users are bulk-written with
# seed_sqlite.py (no HTTP), then filter/get/patch/page run over HTTP with load.sh at
# SMALL (10 000) and LARGE (1 000 000) users; prints p50 ratios and scimd's peak RSS.
#   SCIMD_BIN=... benches/load/scale_sqlite_1m.sh     (default: target/release/scimd)
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
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/scimd-1m.XXXXXX)}; mkdir -p "$OUT_DIR"
DB=$OUT_DIR/scale.db; URL=sqlite://$DB; USERS=$OUT_DIR/users.tsv; : >"$USERS"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT
# shellcheck source=benches/load/scale_lib.sh
. "$HERE/scale_lib.sh"
T=$("$SCIMD_BIN" --database-url "$URL" --json tenant create --name scale | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
K=$("$SCIMD_BIN" --database-url "$URL" --json token create --tenant "$T" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
log "seed $SMALL users"; python3 "$HERE/seed_sqlite.py" "$DB" "$T" "$SMALL" "$USERS"
log "measure @$SMALL"; measure small "$SMALL"
log "seed $((LARGE - SMALL)) more"; python3 "$HERE/seed_sqlite.py" "$DB" "$T" "$((LARGE - SMALL))" "$USERS"
log "measure @$LARGE ($(du -h "$DB" | cut -f1) database)"; measure large "$LARGE"
report
