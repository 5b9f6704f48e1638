#!/usr/bin/env bash
# Side-by-side SCIM load benchmark, in one run on this machine (see docs/performance.md).
#
#   benches/load/run.sh            full run (~13 min on 2 cores)
#   QUICK=1 benches/load/run.sh    smoke run (~3 min: N=1000, DURATION=5s, 2 rounds of 3s, small scale run)
#
# Servers: scimd-sqlite (the default: the file kept to the server), scimd-sqlite-shared (the
#   same with ?exclusive=false: the file shared with other processes), scimd-pg (fresh database, dropped afterwards), scimmy and scim2-server (peers, via
#   $TOOLS/start_peer.sh), ceiling (examples/ceiling.rs: bare actix-web, fixed JSON body).
# Every server is started and seeded first and kept running (idle while the others are
# measured); then the steady scenarios run in ROUNDS interleaved rounds (each round runs every
# server in turn, starting one server further on each time), so that the machine's drift over
# the run falls on all servers alike, and the report takes each server's median round. Then,
# one server at a time: member churn, the sync, peak RSS (/proc/PID/status VmHWM), stop.
# Scenarios per SCIM server:
#   seed (POST N users)
#   filter (userName eq), get (by id), patch (replace displayName), page (100 per page)
#                                  -- $TOOLS/load.sh, CONNS connections, ROUND_DURATION a round
#   member (group of 10: add one member / remove it, one PATCH each; 5 in flight)
#   sync-users (Entra initial sync: for each of SYNC_N new users GET filter userName eq, then
#   POST; 5 in flight), sync-groups (SYNC_GROUPS groups POSTed empty, then one PATCH per
#   member, SYNC_MEMBERS each; 5 in flight)
# Scale run on scimd (SCALE_DBS): seed SCALE_SMALL users, run filter/get/patch/page, seed up to
#   SCALE_LARGE, run them again; member add/remove and GET ?excludedAttributes=members on groups
#   of MEMBER_SIZES members.
# Prints one table (scimd as a ratio to the best peer and to the ceiling), peak RSS, the scale
# ratios and the member-size ratios; everything is also kept under OUT_DIR.
#
# Env: QUICK, N, DURATION (member churn, scale run), ROUNDS (3), ROUND_DURATION (4s), SETTLE_MAX (30: seconds at most to wait for the others to go idle), CONNS,
#      THREADS, SYNC_N, SYNC_GROUPS, SYNC_MEMBERS, SCALE_SMALL, SCALE_LARGE, MEMBER_SIZES, SCALE_DBS ("sqlite postgres"), SERVERS (all six),
#      PG_URL (postgres://postgres@127.0.0.1:5432), TOOLS (/work/shared/tools),
#      SCIMD_BIN / CEILING_BIN (default: cargo build --release into $CARGO_TARGET_DIR),
#      SCIMD_WORKERS (both scimd and the ceiling), SCIMD_LOG (scimd's log level, default info),
#      OUT_DIR (default a new /tmp/scimd-bench.XXXXXX).
# Loopback only; every server is stopped by its PID on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TOOLS=${TOOLS:-/work/shared/tools}
if [ -n "${QUICK:-}" ]; then
  N=${N:-1000}; DURATION=${DURATION:-5s}; SYNC_N=${SYNC_N:-200}; SYNC_GROUPS=${SYNC_GROUPS:-4}
  SYNC_MEMBERS=${SYNC_MEMBERS:-25}; SCALE_SMALL=${SCALE_SMALL:-1000}; SCALE_LARGE=${SCALE_LARGE:-5000}
  MEMBER_SIZES=${MEMBER_SIZES:-10 1000 5000}; SCALE_DBS=${SCALE_DBS:-sqlite}
  ROUNDS=${ROUNDS:-2}; ROUND_DURATION=${ROUND_DURATION:-3s}
fi
N=${N:-10000}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
ROUND_DURATION=${ROUND_DURATION:-4s}
SETTLE_MAX=${SETTLE_MAX:-30}
CLK_TCK=$(getconf CLK_TCK)
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
SYNC_N=${SYNC_N:-1000}
SYNC_GROUPS=${SYNC_GROUPS:-10}
SYNC_MEMBERS=${SYNC_MEMBERS:-50}
SCALE_SMALL=${SCALE_SMALL:-10000}
SCALE_LARGE=${SCALE_LARGE:-100000}
MEMBER_SIZES=${MEMBER_SIZES:-10 10000 100000}
SCALE_DBS=${SCALE_DBS:-sqlite postgres}
SERVERS=${SERVERS:-scimd-sqlite scimd-sqlite-shared scimd-pg scimmy scim2-server ceiling}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PEER_TOKEN=${TOKEN:-secret}
EXTRAS=500          # users kept out of the member-scenario groups (they are the churn)
export SCIMD_LOG=${SCIMD_LOG:-info}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/scimd-bench.XXXXXX)}
mkdir -p "$OUT_DIR"
RES=$OUT_DIR/results.tsv   # server scenario requests secs req_s p50 p99 non2xx
: >"$RES"
# shellcheck source=benches/load/need_wrk.sh
. "$HERE/need_wrk.sh"

log() { echo "[$(date +%T)] $*" >&2; }

# ---- binaries --------------------------------------------------------------------------------
if [ -z "${SCIMD_BIN:-}" ] || [ -z "${CEILING_BIN:-}" ]; then
  log "building scimd and examples/ceiling (release)"
  (cd "$ROOT" && cargo build --release --quiet --bin scimd --example ceiling)
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  SCIMD_BIN=${SCIMD_BIN:-$TARGET/release/scimd}
  CEILING_BIN=${CEILING_BIN:-$TARGET/release/examples/ceiling}
fi
# Snapshot the binaries: a shared CARGO_TARGET_DIR may be rebuilt from another tree mid-run.
mkdir -p "$OUT_DIR/bin"
cp "$SCIMD_BIN" "$OUT_DIR/bin/scimd"; cp "$CEILING_BIN" "$OUT_DIR/bin/ceiling"
SCIMD_BIN=$OUT_DIR/bin/scimd; CEILING_BIN=$OUT_DIR/bin/ceiling
"$SCIMD_BIN" --help | grep -q -- --rate-limit || { echo "$SCIMD_BIN has no --rate-limit: not this tree's scimd?" >&2; exit 2; }

# ---- process bookkeeping ---------------------------------------------------------------------
PIDS=(); PEERS=(); PG_DBS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PEERS[@]}"; do "$TOOLS/start_peer.sh" "${p%%:*}" "${p#*:}" stop 2>/dev/null || true; done
  for d in "${PG_DBS[@]}"; do psql -q "$PG_URL/postgres" -c "drop database if exists $d" 2>/dev/null || true; done
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# others_snapshot SERVER → lines "PID NAME TICKS" (CPU time so far, user + system, in clock
# ticks) of every other server started here and, unless SERVER is scimd-pg, of PostgreSQL's
# processes: what runs besides the measured server
others_snapshot() {
  local s pid
  for s in "${!S_PID[@]}"; do
    [ "$s" = "$1" ] && continue
    awk -v n="$s" '{print $1, n, $14 + $15}' "/proc/${S_PID[$s]}/stat" 2>/dev/null || true
  done
  [ "$1" = scimd-pg ] && return 0
  for pid in $(pgrep -x postgres || true); do
    awk '{print $1, "postgres", $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
  done
}
# cpu_between BEFORE AFTER → "TOTAL NAME=SECS ..." : CPU seconds used between two snapshots
cpu_between() {
  awk -v tck="$CLK_TCK" 'NR == FNR { a[$1] = $3; next }
    { d = $3 - (($1 in a) ? a[$1] : 0); t[$2] += d; all += d }
    END { printf "%.2f\t", all / tck; for (n in t) if (t[n] > 0) printf "%s=%.2f ", n, t[n] / tck; print "" }' "$1" "$2"
}
# others_quiet SERVER → waits until the other servers and PostgreSQL have used under 0.05 CPU-s in
# half a second (at most SETTLE_MAX seconds), and prints the seconds waited: a peer can go on
# answering the requests queued in its own round for seconds after wrk stops (scim2-server
# used 2-3 CPU-s in the next server's round), which fell on the next server's first scenario
others_quiet() {
  local start now cpu
  start=$(date +%s.%N)
  while :; do
    others_snapshot "$1" >"$OUT_DIR/quiet.before"; sleep 0.5
    others_snapshot "$1" >"$OUT_DIR/quiet.after"
    IFS=$'\t' read -r cpu _ < <(cpu_between "$OUT_DIR/quiet.before" "$OUT_DIR/quiet.after")
    now=$(date +%s.%N)
    if [ "$(echo "${cpu:-0} < 0.05 || $now - $start >= $SETTLE_MAX" | bc -l)" != 0 ]; then break; fi
  done
  printf '%.1f\n' "$(echo "$now - $start" | bc -l)"
}
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
stop_pid() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; kill -9 "$1" 2>/dev/null || true; }

# start_scimd NAME DBURL → sets PID BASE TOK
start_scimd() {
  local name=$1 url=$2 port
  port=$(free_port)
  TENANT=$("$SCIMD_BIN" --database-url "$url" --json tenant create --name "$name" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tenant_id"])')
  TOK=$("$SCIMD_BIN" --database-url "$url" --json token create --tenant "$TENANT" --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  "$SCIMD_BIN" --database-url "$url" --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" \
    --rate-limit 1000000 --rate-burst 1000000 --max-concurrent-per-tenant 10000 \
    >"$OUT_DIR/$name.log" 2>&1 </dev/null &
  PID=$!; PIDS+=("$PID")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "$name did not start:" >&2; tail -n 5 "$OUT_DIR/$name.log" >&2; exit 1; }
  BASE=http://127.0.0.1:$port/scim/v2/$TENANT
}
new_db() {  # → DBURL (sqlite file or fresh PostgreSQL database)
  if [ "$1" = sqlite ]; then DBURL=sqlite://$OUT_DIR/$2.db; rm -f "$OUT_DIR/$2.db"*; return; fi
  local db; db=bench_$(date +%s)_$$_$2; db=${db//-/_}
  psql -q "$PG_URL/postgres" -c "create database $db"
  PG_DBS+=("$db"); DBURL=$PG_URL/$db
}
drop_db() {
  [ "$1" = sqlite ] && return
  psql -q "$PG_URL/postgres" -c "drop database if exists ${DBURL##*/}" || true
}

# PostgreSQL after a bulk load: VACUUM ANALYZE, as autovacuum would (this machine's
# PostgreSQL runs with autovacuum=off). Without statistics the planner reads every row of the
# tenant for a GET by id; without VACUUM the visibility map is empty, so the page of 100's
# index-only walk over the skipped rows visits the heap for every one of them (0.35x the
# req/s at 10k users) -- see docs/performance.md, Findings. PG_ANALYZE=0 skips it.
analyze() {
  case $1 in *pg|*postgres) ;; *) return 0 ;; esac
  [ "${PG_ANALYZE:-1}" = 1 ] || return 0
  psql -q "$DBURL" -c "VACUUM ANALYZE" && log "$1: VACUUM ANALYZE done"
}

# PostgreSQL, after a group fill (up to 100 PATCHes of 1 000 members): VACUUM ANALYZE and a
# CHECKPOINT, as autovacuum and the checkpointer would do before the next steady load; without
# them the member churn measured the fill's aftermath (10.7x at 100k members in the 08:11 run;
# the same churn on a 100k group built with SQL: 1.2-1.4x). PG_ANALYZE=0 skips it.
vacuum_after_fill() {
  case $1 in *pg|*postgres) ;; *) return 0 ;; esac
  [ "${PG_ANALYZE:-1}" = 1 ] || return 0
  psql -q "$DBURL" -c "VACUUM ANALYZE" -c "CHECKPOINT" && log "$1: VACUUM ANALYZE, CHECKPOINT done"
}

# ---- measurement helpers ---------------------------------------------------------------------
# record SERVER SCENARIO "requests secs req_s p50 p99 non2xx"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$(echo "$3" | tr ' ' '\t')" >>"$RES"; }
# record_wrk SERVER SCENARIO OUT: records the RESULT line member.lua wrote to OUT, if any
record_wrk() {
  local line; line=$(grep -E '^RESULT' "$3" | head -n 1 || true)
  if [ -n "$line" ]; then record "$1" "$2" "$(echo "$line" | awk '{print $3, $4, $5, $6, $7, $9}')"; fi
}
# fixed_get_run SERVER SCENARIO ORIGIN TOKEN PATH OUT: GET one path (member.lua's "fixed" mode),
# CONNS connections for ROUND_DURATION
fixed_get_run() {
  wrk -t"$THREADS" -c"$CONNS" -d"$ROUND_DURATION" --timeout 10s --latency -s "$HERE/member.lua" "$3" -- \
    "" "$4" fixed "$5" >"$6" 2>&1 || true
  record_wrk "$1" "$2" "$6"
}
# load_sh SERVER BASE TOKEN N SCENARIOS [USERS_TSV] [TAG] [DIR_SUFFIX] [DURATION]
#   → rows "SCENARIO[TAG]", out dir $OUT_DIR/SERVER.load[TAG][DIR_SUFFIX]
load_sh() {
  local server=$1 base=$2 tok=$3 n=$4 scen=$5 users=${6:-} tag=${7:-} suffix=${8:-} secs=${9:-$DURATION} dir
  dir=$OUT_DIR/$server.load$tag$suffix; mkdir -p "$dir"
  OUT_DIR=$dir DURATION=$secs CONNS=$CONNS THREADS=$THREADS SCENARIOS="$scen" USERS_TSV=$users \
    "$TOOLS/load.sh" "$base" "$tok" "$n" >"$dir/table.txt" 2>"$dir/log.txt" || { log "load.sh failed on $server: $(tail -n 3 "$dir/log.txt")"; return 1; }
  tail -n +2 "$dir/results.tsv" | while IFS=$'\t' read -r sc rq secs rate p50 p99 _ non _; do
    [ "$sc" = "seed(POST)" ] && sc=seed
    record "$server" "$sc$tag" "$rq $secs $rate $p50 $p99 $non"
  done
  LOADDIR=$dir
}
# replay SERVER BASE TOKEN REQFILE TAG CONNS → creates $OUT_DIR/SERVER.TAG.tsv (name id); records a row
replay() {
  local server=$1 base=$2 tok=$3 reqs=$4 tag=$5 conns=${6:-5}
  [[ $base =~ ^(http://[^/]+)(/.*)?$ ]]; local origin=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]:-}
  local pre=$OUT_DIR/$server.$tag total t0 t1
  total=$(wc -l <"$reqs"); rm -f "$pre".done
  wrk -t1 -c"$conns" -d600s --timeout 30s --latency -s "$HERE/replay.lua" "$origin" -- \
    "$path" "$tok" "$reqs" "$OUT_DIR" "$server.$tag" >"$pre.out" 2>"$pre.err" &
  local w=$!
  t0=$(date +%s.%N)
  while kill -0 "$w" 2>/dev/null && [ ! -s "$pre.done" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  kill -INT "$w" 2>/dev/null || true; wait "$w" || true
  local done_line lat
  done_line=$(cat "$pre.done" 2>/dev/null || echo "0 0 $total")
  lat=$(grep -E '^RESULT' "$pre.out" | awk '{print $6, $7}' || echo "? ?")
  local secs rate
  secs=$(echo "$t1 - $t0" | bc -l); rate=$(echo "$total / $secs" | bc -l)
  record "$server" "$tag" "$total $(printf %.2f "$secs") $(printf %.1f "$rate") ${lat:-? ?} $(echo "$done_line" | awk '{print $3}')"
  if [ -s "$pre.err" ]; then head -n 3 "$pre.err" >&2; fi
}
# member_run SERVER BASE TOKEN GROUP_ID EXTRAS_TSV SCENARIO
member_run() {
  local server=$1 base=$2 tok=$3 gid=$4 extras=$5 scen=$6
  [[ $base =~ ^(http://[^/]+)(/.*)?$ ]]; local origin=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]:-}
  local out=$OUT_DIR/$server.$scen.out
  wrk -t5 -c5 -d"$DURATION" --timeout 30s --latency -s "$HERE/member.lua" "$origin" -- \
    "$path" "$tok" "$gid" "$extras" 5 >"$out" 2>"$OUT_DIR/$server.$scen.err" || true
  record_wrk "$server" "$scen" "$out"
  if [ -s "$OUT_DIR/$server.$scen.err" ]; then head -n 3 "$OUT_DIR/$server.$scen.err" >&2; fi
}
# group_get_run SERVER BASE TOKEN GID SCEN: GET /Groups/{id}?excludedAttributes=members, as Entra
# reads a group before it PATCHes it, CONNS connections for ROUND_DURATION
group_get_run() {
  local server=$1 base=$2 tok=$3 gid=$4 scen=$5
  [[ $base =~ ^(http://[^/]+)(/.*)?$ ]]; local origin=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]:-}
  fixed_get_run "$server" "$scen" "$origin" "$tok" "$path/Groups/$gid?excludedAttributes=members" \
    "$OUT_DIR/$server.$scen.out"
}
group_body() {  # NAME [ID...] → a Group POST body with those members
  local name=$1; shift
  local m="" id
  for id in "$@"; do m="$m${m:+,}{\"value\":\"$id\"}"; done
  printf '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"%s","members":[%s]}' "$name" "$m"
}
# create_group SERVER BASE TOKEN NAME [IDS...] → GID
create_group() {
  local server=$1 base=$2 tok=$3 name=$4; shift 4
  GID=$(group_body "$name" "$@" | curl -s -X POST -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/scim+json' --data-binary @- "$base/Groups" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
}
# fill_group SERVER BASE TOKEN GID FROM_TSV COUNT: add COUNT users of FROM_TSV, 1000 per PATCH
fill_group() {
  local server=$1 base=$2 tok=$3 gid=$4 from=$5 count=$6
  head -n "$count" "$from" | cut -f2 | python3 -c '
import json, sys
ids = [l.strip() for l in sys.stdin if l.strip()]
for i in range(0, len(ids), 1000):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": x} for x in ids[i:i+1000]]}]}
    print("PATCH\t/Groups/%s\t%s" % (sys.argv[1], json.dumps(body, separators=(",", ":"))))
' "$gid" >"$OUT_DIR/$server.fill.$gid.req"
  replay "$server" "$base" "$tok" "$OUT_DIR/$server.fill.$gid.req" "fill$count" 2
}

# ---- the SCIM scenarios of one server --------------------------------------------------------
seed_suite() {  # SERVER BASE TOKEN → $OUT_DIR/SERVER.users.tsv
  local server=$1 base=$2 tok=$3 waited
  waited=$(others_quiet "$server")
  log "$server: seed $N users (after $waited s for the others to go idle)"
  load_sh "$server" "$base" "$tok" "$N" " "
  cp "$LOADDIR/users.tsv" "$OUT_DIR/$server.users.tsv"
  analyze "$server"
}
steady_round() {  # SERVER BASE TOKEN ROUND
  local server=$1 base=$2 tok=$3 round=$4
  log "$server: round $round: filter get patch page ($ROUND_DURATION each)"
  load_sh "$server" "$base" "$tok" 0 "filter get patch page" "$OUT_DIR/$server.users.tsv" "" ".round$round" "$ROUND_DURATION"
}
ceiling_round() {  # PORT ROUND
  local port=$1 round=$2
  log "ceiling: round $round: GET fixed body ($ROUND_DURATION)"
  fixed_get_run ceiling fixed "http://127.0.0.1:$port" x /Users "$OUT_DIR/ceiling.round$round.out"
}
write_suite() {  # SERVER BASE TOKEN: member churn and the Entra-style sync
  local server=$1 base=$2 tok=$3
  local users=$OUT_DIR/$server.users.tsv waited
  waited=$(others_quiet "$server")
  log "$server: the others idle after $waited s"
  # member: a group of the first 10 seeded users; the churn uses the last $EXTRAS users
  log "$server: member add/remove on a group of 10"
  local first10; mapfile -t first10 < <(head -n 10 "$users" | cut -f2)
  create_group "$server" "$base" "$tok" "bench-members-10" "${first10[@]}"
  tail -n "$EXTRAS" "$users" >"$OUT_DIR/$server.extras.tsv"
  member_run "$server" "$base" "$tok" "$GID" "$OUT_DIR/$server.extras.tsv" member
  # Entra initial sync: users (filter then POST), then groups created empty and filled
  log "$server: Entra-style initial sync of $SYNC_N users, $SYNC_GROUPS groups x $SYNC_MEMBERS members"
  python3 "$HERE/sync_requests.py" users "$SYNC_N" "sync$(date +%s)" >"$OUT_DIR/$server.sync-users.req"
  replay "$server" "$base" "$tok" "$OUT_DIR/$server.sync-users.req" sync-users 5
  local synced=$OUT_DIR/$server.sync-users.tsv
  python3 "$HERE/sync_requests.py" groups "$SYNC_GROUPS" "syncg$(date +%s)" >"$OUT_DIR/$server.sync-groups-create.req"
  replay "$server" "$base" "$tok" "$OUT_DIR/$server.sync-groups-create.req" sync-groups-create 5
  python3 "$HERE/sync_requests.py" members "$OUT_DIR/$server.sync-groups-create.tsv" "$synced" "$SYNC_MEMBERS" \
    >"$OUT_DIR/$server.sync-members.req"
  replay "$server" "$base" "$tok" "$OUT_DIR/$server.sync-members.req" sync-members 5
}

# ---- main comparison ---------------------------------------------------------------------------
MACHINE="nproc $(nproc); $(free -m | awk '/^Mem:/ {print "mem total "$2" MiB, available "$7" MiB"}'); $(uname -srm)"
log "out=$OUT_DIR  N=$N DURATION=$DURATION ROUNDS=$ROUNDS ROUND_DURATION=$ROUND_DURATION CONNS=$CONNS THREADS=$THREADS  $MACHINE"
: >"$OUT_DIR/rss.tsv"
declare -A S_BASE S_TOK S_PID S_PORT S_DB
ORDER=()
# 1. start and seed every server; they stay up (idle) while the others are measured
for server in $SERVERS; do
  case $server in
    scimd-sqlite|scimd-sqlite-shared|scimd-pg)
      kind=sqlite; [ "$server" = scimd-pg ] && kind=postgres
      new_db "$kind" "$server"
      S_DB[$server]=$DBURL
      [ "$server" = scimd-sqlite-shared ] && DBURL="$DBURL?exclusive=false"
      start_scimd "$server" "$DBURL"
      S_BASE[$server]=$BASE; S_TOK[$server]=$TOK; S_PID[$server]=$PID
      seed_suite "$server" "$BASE" "$TOK"
      ;;
    scimmy|scim2-server)
      port=$(free_port)
      BASE=$(TOKEN=$PEER_TOKEN "$TOOLS/start_peer.sh" "$server" "$port")
      PEERS+=("$server:$port")
      S_BASE[$server]=$BASE; S_TOK[$server]=$PEER_TOKEN; S_PORT[$server]=$port
      S_PID[$server]=$(cat "${PEERS_DIR:-/tmp/peers}/run/$server-$port.pid")
      seed_suite "$server" "$BASE" "$PEER_TOKEN"
      ;;
    ceiling)
      port=$(free_port)
      "$CEILING_BIN" "127.0.0.1:$port" >"$OUT_DIR/ceiling.log" 2>&1 </dev/null &
      PID=$!; PIDS+=("$PID")
      for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/x" >/dev/null && break; sleep 0.1; done
      S_PID[$server]=$PID; S_PORT[$server]=$port
      ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  ORDER+=("$server")
done
# 2. the steady scenarios in interleaved rounds, each round starting one server further on
# Before each server's round, the others go idle first (others_quiet). background.tsv: per round and
# server, the CPU seconds the idle servers (and PostgreSQL, unless it serves the measured one)
# used meanwhile, by whom, and the seconds waited for them to go idle: load from inside the run.
: >"$OUT_DIR/background.tsv"
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!ORDER[@]}"; do
    server=${ORDER[$(( (i + round - 1) % ${#ORDER[@]} ))]}
    waited=$(others_quiet "$server")
    others_snapshot "$server" >"$OUT_DIR/bg.before"; t0=$(date +%s.%N)
    if [ "$server" = ceiling ]; then
      ceiling_round "${S_PORT[ceiling]}" "$round"
    else
      steady_round "$server" "${S_BASE[$server]}" "${S_TOK[$server]}" "$round"
    fi
    others_snapshot "$server" >"$OUT_DIR/bg.after"; t1=$(date +%s.%N)
    IFS=$'\t' read -r bg_cpu bg_who < <(cpu_between "$OUT_DIR/bg.before" "$OUT_DIR/bg.after")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$server" "$bg_cpu" "$(echo "$t1 - $t0" | bc -l)" \
      "$bg_who" "$waited" >>"$OUT_DIR/background.tsv"
  done
done
# 3. one server at a time: member churn and the sync, then its peak RSS, then it stops
for server in "${ORDER[@]}"; do
  [ "$server" = ceiling ] || write_suite "$server" "${S_BASE[$server]}" "${S_TOK[$server]}"
  printf '%s\t%s\n' "$server" "$(hwm_kib "${S_PID[$server]}")" >>"$OUT_DIR/rss.tsv"
  case $server in
    scimmy|scim2-server) "$TOOLS/start_peer.sh" "$server" "${S_PORT[$server]}" stop 2>/dev/null || true ;;
    scimd-pg) stop_pid "${S_PID[$server]}"; DBURL=${S_DB[$server]}; drop_db postgres ;;
    *) stop_pid "${S_PID[$server]}" ;;
  esac
done

# ---- scale run -------------------------------------------------------------------------------
for kind in $SCALE_DBS; do
  server=scale-$kind
  new_db "$kind" "$server"; start_scimd "$server" "$DBURL"
  log "$server: seed $SCALE_SMALL users, scenarios"
  load_sh "$server" "$BASE" "$TOK" "$SCALE_SMALL" " " "" "@$SCALE_SMALL"
  cp "$LOADDIR/users.tsv" "$OUT_DIR/$server.users.tsv"
  analyze "$server"
  load_sh "$server" "$BASE" "$TOK" 0 "filter get patch page" "$OUT_DIR/$server.users.tsv" "@$SCALE_SMALL"
  more=$((SCALE_LARGE - SCALE_SMALL + EXTRAS))
  log "$server: seed $more more users, scenarios"
  load_sh "$server" "$BASE" "$TOK" "$more" " " "" "@seed-more"   # " ": no scenario (load.sh treats "" as unset)
  cat "$LOADDIR/users.tsv" >>"$OUT_DIR/$server.users.tsv"
  analyze "$server"
  load_sh "$server" "$BASE" "$TOK" 0 "filter get patch page" "$OUT_DIR/$server.users.tsv" "@$SCALE_LARGE"
  # member groups: members from the head of the user list, churn from its last $EXTRAS users
  tail -n "$EXTRAS" "$OUT_DIR/$server.users.tsv" >"$OUT_DIR/$server.extras.tsv"
  for size in $MEMBER_SIZES; do
    log "$server: group of $size members"
    create_group "$server" "$BASE" "$TOK" "bench-size-$size"
    fill_group "$server" "$BASE" "$TOK" "$GID" "$OUT_DIR/$server.users.tsv" "$size"
    vacuum_after_fill "$server"
    member_run "$server" "$BASE" "$TOK" "$GID" "$OUT_DIR/$server.extras.tsv" "member@$size"
    group_get_run "$server" "$BASE" "$TOK" "$GID" "group-get@$size"
  done
  printf '%s\t%s\n' "$server" "$(hwm_kib "$PID")" >>"$OUT_DIR/rss.tsv"
  stop_pid "$PID"; drop_db "$kind"
done

# ---- report ----------------------------------------------------------------------------------
# The peers' versions as start_peer.sh installed them: a fresh machine may get newer ones,
# which are another baseline (the sixteenth session's scimmy answered 1.6x as many filter
# requests, relative to the ceiling, as the fifteenth's).
peer_versions() {
  local dir=${PEERS_DIR:-/tmp/peers} found=()
  local scimmy=$dir/node/node_modules/scimmy/package.json py=$dir/venv_scim2_server/bin/python
  if [ -f "$scimmy" ]; then
    found+=("scimmy $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$scimmy") on node $(node --version 2>/dev/null)")
  fi
  if [ -x "$py" ]; then
    found+=("scim2-server $("$py" -c 'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null) on $("$py" --version 2>&1)")
  fi
  local out="" one
  for one in "${found[@]}"; do out+="${out:+, }$one"; done
  echo "${out:-none}"
}
python3 "$HERE/report.py" "$RES" "$OUT_DIR/rss.tsv" "$SCALE_SMALL" "$SCALE_LARGE" "$MEMBER_SIZES" \
  "N=$N DURATION=$DURATION ROUNDS=$ROUNDS ROUND_DURATION=$ROUND_DURATION CONNS=$CONNS THREADS=$THREADS SYNC_N=$SYNC_N SYNC_GROUPS=$SYNC_GROUPS SYNC_MEMBERS=$SYNC_MEMBERS | $MACHINE | peers: $(peer_versions) | $(date -u +%FT%TZ)" \
  | tee "$OUT_DIR/report.md"
log "results in $OUT_DIR (report.md, results.tsv, per-server logs)"
