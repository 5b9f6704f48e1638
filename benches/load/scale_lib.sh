# shellcheck shell=bash
# Sourced by scale_sqlite_1m.sh and scale_postgres_1m.sh: the measurement at one tenant
# size and the final report. The caller sets SCIMD_BIN, URL (database), T (tenant), K
# (token), USERS (users.tsv), OUT_DIR, TOOLS, DURATION, CONNS, SMALL, LARGE, and PID= (the
# server's pid while one runs, for the caller's exit trap).
log() { echo "[$(date +%T)] $*" >&2; }
walk() {  # PORT SIZE: 20 pages of 100 read in order from the middle of the tenant, one at a time
  python3 - "$1" "$T" "$K" "$2" <<'PY'
import http.client, statistics, sys, time
port, tenant, token, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", int(port))
start, ms = size // 2, []
for i in range(21):
    t = time.perf_counter()
    c.request("GET", f"/scim/v2/{tenant}/Users?startIndex={start + 100 * i}&count=100",
              headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
    ms.append((time.perf_counter() - t) * 1000)
print(f"{ms[0]:.1f} {statistics.median(ms[1:]):.1f}")
PY
}
measure() {  # TAG SIZE
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SCIMD_BIN" --database-url "$URL" --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" \
    --rate-limit 1000000 --rate-burst 1000000 --max-concurrent-per-tenant 10000 >"$OUT_DIR/server.$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  OUT_DIR=$OUT_DIR/load.$1 DURATION=$DURATION CONNS=$CONNS SCENARIOS="filter get patch page" USERS_TSV=$USERS \
    "$TOOLS/load.sh" "http://127.0.0.1:$port/scim/v2/$T" "$K" 0 >"$OUT_DIR/load.$1.txt" 2>&1
  echo "$1 $(walk "$port" "$2")" >>"$OUT_DIR/walk.txt"
  echo "$1 rss_kib $(awk '/VmHWM/ {print $2}' /proc/$PID/status)" >>"$OUT_DIR/rss.txt"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
report() {  # the p50 ratios of LARGE to SMALL, and the peak RSS of each
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
print()
print("Pages of 100 read in order from the middle of the tenant (one client): the first page"
      " (an offset walk) and the median of the next 20 (each goes on from the last):")
print()
print("| tenant | first page ms | next pages, median ms |")
print("| --- | ---: | ---: |")
for line in open(f"{out}/walk.txt"):
    tag, first, rest = line.split()
    print(f"| {small if tag == 'small' else large} | {first} | {rest} |")
print()
for line in open(f"{out}/rss.txt"):
    tag, _, kib = line.split()
    print(f"peak RSS {tag}: {int(kib)/1024:.1f} MiB")
PY
}
