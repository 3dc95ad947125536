#!/usr/bin/env bash
# loadgen-bench.sh - mockarty-load against wrk, both driving the same nginx in the same run (this
# machine is shared and noisy; only what is measured side by side means anything).
#   wrk -t1 -c64 -d10s --latency   vs   mockarty-load -t1 -c64 -d10s --json
# Server and client are kept apart (PIN=1, the default): the nginx worker on CPU 0, each client
# on CPU 1. On this 2-core machine, without pinning, three busy threads share two cores and the
# latency distribution mostly measures the scheduler: wrk's own p50 moved by 70% between rounds
# of one run, and a client that spends less CPU per request leaves nginx more CPU and sees a
# different shape. PIN=0 THREADS=2 gives the unpinned -t2 run (reported for information).
# Order wrk, mockarty-load, mockarty-load, wrk, ... (ROUNDS, default 6) so drift in the machine's
# load hits both alike; the figures are the medians over rounds. Targets (issue 4): req/s >= 0.8x
# wrk, and p50, p90, p99 within 20% of wrk's. Prints a table with PASS/FAIL and writes
# bench/results/loadgen-latest.tsv. Exit 1 when a target is missed.
# Knobs: DURATION (10s) THREADS (1, or 2 with PIN=0) CONNS (64) ROUNDS (6) PIN (1)
# PORT_NGINX (a free port) SKIP_BUILD=1, QUICK=1 (2 s rounds, 2 of them, targets reported but not
# enforced: a smoke check of the script), ENFORCE (1, QUICK 0). Runtime about 2.5 min (3 s
# warm-up + 2 x ROUNDS x DURATION); nginx listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=${PIN:-1}
if [ "${QUICK:-0}" = 1 ]; then DURATION=${DURATION:-2s} ROUNDS=${ROUNDS:-2} ENFORCE=${ENFORCE:-0}; fi
DURATION=${DURATION:-10s} CONNS=${CONNS:-64} ROUNDS=${ROUNDS:-6} ENFORCE=${ENFORCE:-1}
if [ "$PIN" = 1 ]; then THREADS=${THREADS:-1}; CLIENT="taskset -c 1"; export NGINX_CPU=0
else THREADS=${THREADS:-2}; CLIENT=""; fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PN=${PORT_NGINX:-$(free_port)}
B=$(mktemp -d /tmp/mockarty-lbench.XXXXXX); chmod 755 "$B"
PATH_UNDER_TEST=/api/users/123
BODY='{"id":"123","name":"Alice","email":"alice@example.com"}'
log() { printf '[loadgen-bench] %s\n' "$*" >&2; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$B"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  make -s -C daemons/loadgen >/dev/null
fi
LOAD=daemons/build/mockarty-load
command -v wrk >/dev/null || { log "wrk is not installed (scripts/install-deps.sh bench)"; exit 1; }
command -v nginx >/dev/null || { log "nginx is not installed (scripts/install-deps.sh bench)"; exit 1; }

source bench/lib.sh
start_nginx
check_body "$PN"
URL="http://127.0.0.1:$PN$PATH_UNDER_TEST"

# wrk's "50%  1.23ms" lines -> milliseconds
wrk_ms() { # out pct
  echo "$1" | awk -v p="$2%" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'
}
run_wrk_once() { # -> "rps p50 p90 p99"
  local out; out=$($CLIENT wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$URL")
  echo "$out" | grep -qE 'Non-2xx|Socket errors' && log "wrk saw errors: $(echo "$out" | grep -E 'Non-2xx|Socket')"
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(wrk_ms "$out" 50) $(wrk_ms "$out" 90) $(wrk_ms "$out" 99)"
}
# The report is captured first and parsed after the run, as wrk's is: piping it straight into
# python3 started the interpreter (about 0.35 s of CPU) alongside the client, and that start-up
# pre-empted the client or nginx in 4 ms slices through the first second, which put 2-9 ms stalls
# into the tail (wrk piped the same way measured p90 1.0 ms, p99 4.9 ms instead of 0.5/0.85).
run_load_once() { # -> "rps p50 p90 p99"
  local out; out=$($CLIENT "$LOAD" "$URL" -t"$THREADS" -c"$CONNS" -d"$DURATION" --json)
  echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin); l = r["latencyMs"]
if r["errors"]: print("errors: %s" % r["errorKinds"], file=sys.stderr)
print(r["rps"], l["p50"], l["p90"], l["p99"])'
}

log "nginx on $PN; warm-up 3 s"
$CLIENT wrk -t"$THREADS" -c"$CONNS" -d3s "$URL" >/dev/null 2>&1 || true
wrk_runs=() load_runs=()
for ((i = 0; i < ROUNDS; i++)); do
  if ((i % 2 == 0)); then
    log "round $((i + 1)): wrk";           wrk_runs+=("$(run_wrk_once)")
    log "round $((i + 1)): mockarty-load"; load_runs+=("$(run_load_once)")
  else
    log "round $((i + 1)): mockarty-load"; load_runs+=("$(run_load_once)")
    log "round $((i + 1)): wrk";           wrk_runs+=("$(run_wrk_once)")
  fi
done

mkdir -p bench/results
res=bench/results/loadgen-latest.tsv
printf '%s\n' "${wrk_runs[@]}" > "$B/wrk.txt"
printf '%s\n' "${load_runs[@]}" > "$B/load.txt"
python3 - "$B/wrk.txt" "$B/load.txt" "$res" "$THREADS" "$CONNS" "$DURATION" "$PIN" "$ENFORCE" <<'PY'
import sys
def rows(p): return [list(map(float, l.split())) for l in open(p) if l.strip()]
w, m = rows(sys.argv[1]), rows(sys.argv[2])
import statistics
med = lambda rs, i: statistics.median(r[i] for r in rs)
W = [med(w, i) for i in range(4)]; M = [med(m, i) for i in range(4)]
ratio = M[0] / W[0]
ok_rps = ratio >= 0.8
print("mockarty-load vs wrk: -t%s -c%s -d%s, %d round(s) each (medians), nginx 1 worker, same machine, %s"
      % (sys.argv[4], sys.argv[5], sys.argv[6], len(w),
         "nginx on CPU 0, clients on CPU 1" if sys.argv[7] == "1" else "unpinned"))
print("%-10s %14s %14s %12s  %s" % ("metric", "wrk", "mockarty-load", "load/wrk", "target"))
print("%-10s %14.0f %14.0f %11.2fx  %s (>= 0.80x)" % ("req/s", W[0], M[0], ratio, "PASS" if ok_rps else "FAIL"))
ok = ok_rps
out = open(sys.argv[3], "w")
out.write("metric\twrk\tmockarty-load\tratio_or_diff\tverdict\n")
out.write("req/s\t%.0f\t%.0f\t%.3f\t%s\n" % (W[0], M[0], ratio, "PASS" if ok_rps else "FAIL"))
for i, name in ((1, "p50 ms"), (2, "p90 ms"), (3, "p99 ms")):
    diff = (M[i] - W[i]) / W[i] if W[i] else float("inf")
    good = abs(diff) <= 0.20
    ok = ok and good
    print("%-10s %14.3f %14.3f %+11.1f%%  %s (within 20%%)" % (name, W[i], M[i], 100 * diff, "PASS" if good else "FAIL"))
    out.write("%s\t%.3f\t%.3f\t%+.3f\t%s\n" % (name, W[i], M[i], diff, "PASS" if good else "FAIL"))
for k, (a, b) in enumerate(zip(w, m)):
    print("  round %d: wrk %.0f req/s p50/p90/p99 %.3f/%.3f/%.3f ms | mockarty-load %.0f req/s %.3f/%.3f/%.3f ms"
          % (k + 1, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]))
print("overall: %s%s" % ("PASS" if ok else "FAIL", "" if sys.argv[8] == "1" else " (not enforced: ENFORCE=0)"))
sys.exit(0 if ok or sys.argv[8] != "1" else 1)
PY
