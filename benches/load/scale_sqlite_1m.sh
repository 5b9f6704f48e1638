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
log() { echo "[$(date +%T)] $*" >&2; }
T=$("$SCIMD_BIN" --database-url "$URL" --json tenant create --name scale | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
K=$("$SCIMD_BIN" --database-url "$URL" --json token create --tenant "$T" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
measure() {  # TAG
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SCIMD_BIN" --database-url "$URL" --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" \
    --rate-limit 1000000 --rate-burst 1000000 --max-concurrent-per-tenant 10000 >"$OUT_DIR/server.$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  OUT_DIR=$OUT_DIR/load.$1 DURATION=$DURATION CONNS=$CONNS SCENARIOS="filter get patch page" USERS_TSV=$USERS \
    "$TOOLS/load.sh" "http://127.0.0.1:$port/scim/v2/$T" "$K" 0 >"$OUT_DIR/load.$1.txt" 2>&1
  echo "$1 rss_kib $(awk '/VmHWM/ {print $2}' /proc/$PID/status)" >>"$OUT_DIR/rss.txt"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
log "seed $SMALL users"; python3 "$HERE/seed_sqlite.py" "$DB" "$T" "$SMALL" "$USERS"
log "measure @$SMALL"; measure small
log "seed $((LARGE - SMALL)) more"; python3 "$HERE/seed_sqlite.py" "$DB" "$T" "$((LARGE - SMALL))" "$USERS"
log "measure @$LARGE ($(du -h "$DB" | cut -f1) database)"; measure large
python3 - "$OUT_DIR" "$SMALL" "$LARGE" <<'PY'
import csv, sys
out, small, large = sys.argv[1:4]
def load(tag):
    with open(f"{out}/load.{tag}/results.tsv") as f:
        return {r["scenario"]: r for r in csv.DictReader(f, delimiter="\t")}
s, l = load("small"), load("large")
print(f"| scenario | req/s @{small} | req/s @{large} | p50 ms @{small} | p50 ms @{large} | p50 ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for sc in ["filter", "get", "patch", "page"]:
    a, b = s[sc], l[sc]
    print(f"| {sc} | {float(a['req_per_s']):.0f} | {float(b['req_per_s']):.0f} | {a['p50_ms']} | {b['p50_ms']} | {float(b['p50_ms'])/float(a['p50_ms']):.2f}x |")
for line in open(f"{out}/rss.txt"):
    tag, _, kib = line.split()
    print(f"peak RSS {tag}: {int(kib)/1024:.1f} MiB")
PY
