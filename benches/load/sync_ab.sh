#!/usr/bin/env bash
# The issue's Entra-style initial sync alone, on scimd over SQLite, for A/B comparisons of two
# binaries (see docs/performance.md, "What was changed"): a fresh SQLite file, SYNC_N users
# (a filter lookup, then the POST, for each), SYNC_GROUPS empty groups, then one member PATCH
# per member (SYNC_MEMBERS a group), 5 requests in flight (wrk replaying replay.lua, as
# run.sh does). Prints, per phase: wall time, scimd's CPU time (user + system, from
# /proc/PID/stat), wrk's CPU time, the requests answered / created / non-2xx, and the size of
# the WAL file (MiB) at the end of the phase.
#
#   benches/load/sync_ab.sh BIN [BIN...]        one run of each binary, in the order given
#   ROUNDS=3 benches/load/sync_ab.sh A B        A, B, A, B, A, B
#
# Env: ROUNDS (1), SYNC_N (10000), SYNC_GROUPS (100), SYNC_MEMBERS (100), SCIMD_LOG (info),
#      OUT_DIR (a new /tmp/scimd-sync.XXXXXX). Loopback only; scimd is stopped by its PID.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { sed -n '2,14p' "$0"; exit 2; }
ROUNDS=${ROUNDS:-1}
SYNC_N=${SYNC_N:-10000}
SYNC_GROUPS=${SYNC_GROUPS:-100}
SYNC_MEMBERS=${SYNC_MEMBERS:-100}
export SCIMD_LOG=${SCIMD_LOG:-info}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/scimd-sync.XXXXXX)}
# shellcheck source=benches/load/need_wrk.sh
. "$HERE/need_wrk.sh"

PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT

# phase DIR REQFILE TAG: replays REQFILE with 5 in flight, prints one result field
phase() {
  local dir=$1 reqs=$2 tag=$3 c0 c1 t0 t1 w wc
  rm -f "$dir/$tag.done"
  c0=$(awk '{print $14+$15}' "/proc/$PID/stat"); t0=$(date +%s.%N)
  wrk -t1 -c5 -d600s --timeout 30s -s "$HERE/replay.lua" "http://127.0.0.1:$PORT" -- \
    "/scim/v2/$TENANT" "$TOKEN" "$reqs" "$dir" "$tag" >"$dir/$tag.out" 2>&1 &
  w=$!
  while kill -0 "$w" 2>/dev/null && [ ! -s "$dir/$tag.done" ]; do sleep 0.02; done
  t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' "/proc/$PID/stat")
  wc=$(awk '{print ($14+$15)/100}' "/proc/$w/stat" 2>/dev/null || echo "?")
  kill -INT "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true
  printf '%s %.2f s, scimd cpu %.2f s, wrk cpu %s s, %s, wal %s MiB; ' "$tag" \
    "$(echo "$t1 - $t0" | bc -l)" "$(echo "($c1 - $c0) / 100" | bc -l)" "$wc" \
    "$(cat "$dir/$tag.done")" "$(( $(stat -c %s "$dir/db.sqlite-wal" 2>/dev/null || echo 0) >> 20 ))"
}

# one BIN DIR: the whole sync on a fresh database
one() {
  local bin=$1 dir=$2 db
  mkdir -p "$dir"; db="sqlite://$dir/db.sqlite"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  TENANT=$("$bin" --database-url "$db" --json tenant create --name sync |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
  TOKEN=$("$bin" --database-url "$db" --json token create --tenant "$TENANT" --name sync |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  "$bin" --database-url "$db" --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1:$PORT" \
    --rate-limit 1000000 --rate-burst 1000000 --max-concurrent-per-tenant 10000 \
    >"$dir/server.log" 2>&1 </dev/null &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  python3 "$HERE/sync_requests.py" users "$SYNC_N" sync >"$dir/users.req"
  python3 "$HERE/sync_requests.py" groups "$SYNC_GROUPS" g >"$dir/groups.req"
  printf '%s: ' "$bin"
  phase "$dir" "$dir/users.req" users
  phase "$dir" "$dir/groups.req" groups >/dev/null
  python3 "$HERE/sync_requests.py" members "$dir/groups.tsv" "$dir/users.tsv" "$SYNC_MEMBERS" \
    >"$dir/members.req"
  phase "$dir" "$dir/members.req" members
  echo
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

for round in $(seq 1 "$ROUNDS"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    one "$bin" "$OUT_DIR/round$round-bin$i"
  done
done
echo "outputs in $OUT_DIR" >&2
