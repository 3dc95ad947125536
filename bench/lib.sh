# bench/lib.sh - what the benchmarks share, sourced by bench.sh, resolver-bench.sh,
# webhook-bench.sh and loadgen-bench.sh.
# Expects B (work dir), PN (nginx port), PATH_UNDER_TEST, BODY, the array pids (servers to stop on
# exit) and a log function. Listens on 127.0.0.1 only.
#
# Knobs read here (with their defaults): QUICK (0: 1 = short rounds to smoke-check the scripts),
# DURATION (10s, QUICK 2s) ROUNDS (3 per side, QUICK 2) WARMUP (3s, QUICK 1s) WRK_THREADS (2)
# CONNS (64) TARGET (0.80: ours / nginx per pair) ENFORCE (1, QUICK 0: whether a missed
# performance target fails the run; wrong bodies, errors and lost events always do).
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${DURATION:-2s} ROUNDS=${ROUNDS:-2} WARMUP=${WARMUP:-1s} ENFORCE=${ENFORCE:-0}
else
  DURATION=${DURATION:-10s} ROUNDS=${ROUNDS:-3} WARMUP=${WARMUP:-3s} ENFORCE=${ENFORCE:-1}
fi
WRK_THREADS=${WRK_THREADS:-2} CONNS=${CONNS:-64} TARGET=${TARGET:-0.80}
# Before each measured run, wait (at most QUIET_MAX_S s; QUICK 0) until the machine's CPU use
# (other developers' builds: the benchmark's own servers are idle then) is below QUIET_PCT % of
# one core: a burst hitting one side of a pair skews its ratio.
if [ "$QUICK" = 1 ]; then QUIET_MAX_S=${QUIET_MAX_S:-0}; else QUIET_MAX_S=${QUIET_MAX_S:-5}; fi
QUIET_PCT=${QUIET_PCT:-25}

# Reasons the benchmark fails; summary() prints them and sets the exit status.
failures=()
fail() { failures+=("$*"); log "FAIL: $*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# nginx with `workers` worker processes (default 1) on port (default PN) answering PATH_UNDER_TEST
# with BODY as application/json: the reference every ratio is taken against, measured in the same
# run. Sets NGINX_PID_<port> for rss_mib.
start_nginx() { # [workers] [port]
  local workers=${1:-1} port=${2:-$PN}
  local dir="$B/nginx-$port"
  mkdir -p "$dir"
  # NGINX_CPU=n pins the worker to CPU n (bench/loadgen-bench.sh keeps server and client apart)
  local affinity=""
  [ -n "${NGINX_CPU:-}" ] && affinity="worker_cpu_affinity $(python3 -c "print(format(1 << $NGINX_CPU, 'b'))");"
  cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
$affinity
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location = $PATH_UNDER_TEST { default_type application/json; return 200 '$BODY'; }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir"
  for _ in $(seq 50); do [ -s "$dir/nginx.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$dir/nginx.pid")")
}

# A private cluster in $B/pg with the extension and the benchmark's mock (bench-user on
# PATH_UNDER_TEST returning BODY); sets DSN and defines psqlq.
start_db() {
  scripts/cluster.sh start "$B/pg" 5432 >/dev/null
  DSN="host=$B/pg/run port=5432 dbname=mockarty user=postgres"
  psqlq() { runuser -u postgres -- psql "$DSN" -qAtX -v ON_ERROR_STOP=1 "$@"; }
  psqlq -c "SELECT mockarty.mock_save('{\"id\":\"bench-user\",\"http\":{\"route\":\"$PATH_UNDER_TEST\",\"httpMethod\":\"GET\"},\"response\":{\"statusCode\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},\"payload\":$BODY}}'::jsonb)" >/dev/null
}

# Fails the benchmark (exit 1) unless the server on port answers PATH_UNDER_TEST with status 200,
# a Content-Type of application/json and exactly the bytes of BODY - the bytes nginx sends.
check_body() { # port
  local got="$B/body-$1" code ctype
  read -r code ctype < <(curl -sS -o "$got" -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$1$PATH_UNDER_TEST") \
    || { log "port $1: request failed"; exit 1; }
  if [ "$code" != 200 ] || ! printf '%s' "$BODY" | cmp -s - "$got" || [[ "$ctype" != application/json* ]]; then
    log "port $1 answered status $code, Content-Type $ctype, body $(head -c 300 "$got"); expected 200, application/json, $BODY"
    exit 1
  fi
}

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# wrk's "99%  1.23ms" -> milliseconds
wrk_ms() { # out pct
  echo "$1" | awk -v p="$2%" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'
}

# One measured wrk run of DURATION on port (path defaults to PATH_UNDER_TEST). Prints
# "req_per_s p99_ms requests errors": requests = completed responses, errors = non-2xx/3xx
# responses + socket errors (connect, read, write, timeout). wrk's report is captured whole and
# parsed afterwards, so no parser runs beside the load.
wrk_once() { # port [path]
  local out rc=0
  out=$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$1${2:-$PATH_UNDER_TEST}" 2>&1) || rc=$?
  local rps p99 reqs errs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(wrk_ms "$out" 99)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  errs=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {n += $NF}
    /Socket errors:/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {v = $i; sub(/,/, "", v); n += v}}
    END {print n + 0}')
  if [ "$rc" != 0 ] || [ -z "$rps" ] || [ -z "$reqs" ]; then
    log "wrk on port $1 did not complete (exit $rc): $out"; errs=$((errs + 1)); rps=${rps:-0} reqs=${reqs:-0}
  fi
  [ "$errs" = 0 ] || log "errors in the run on port $1: $(echo "$out" | grep -E 'Non-2xx|Socket errors' | tr '\n' ' ')"
  echo "$rps ${p99:-0} $reqs $errs"
}
cpu_jiffies() { awk '$1 == "cpu" {t = 0; for (i = 2; i <= 9; i++) t += $i; print $2 + $3 + $4 + $7 + $8 + $9, t; exit}' /proc/stat; }
wait_quiet() {
  [ "$QUIET_MAX_S" -gt 0 ] || return 0
  local ncpu end b0 t0 b1 t1 pct waited=0
  ncpu=$(nproc); end=$(( $(date +%s) + QUIET_MAX_S ))
  while :; do
    read -r b0 t0 < <(cpu_jiffies); sleep 0.5; read -r b1 t1 < <(cpu_jiffies)
    pct=$(( (b1 - b0) * 100 * ncpu / (t1 > t0 ? t1 - t0 : 1) ))
    [ "$pct" -le "$QUIET_PCT" ] && break
    [ "$(date +%s)" -lt "$end" ] || { log "machine still busy (${pct}% of a core) after ${QUIET_MAX_S} s; measuring anyway"; return 0; }
    waited=1
  done
  [ "$waited" = 0 ] || log "waited for a quieter machine (${pct}% of a core now)"
}
warmup() { # port [path]
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"$WARMUP" "http://127.0.0.1:$1${2:-$PATH_UNDER_TEST}" >/dev/null 2>&1 || true
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print 0; else printf "%.3f\n", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# compare_pair scenario n ours-name nginx-port ours-port: ROUNDS rounds per side in alternation
# (nginx, ours, nginx, ours, ...) after a warm-up of each, like for like (THREADS=n against n
# nginx workers, the same wrk on the same machine). A round with any error fails the run. Appends
# a row to $res (TSV) with the medians, ratio and verdict; a ratio below TARGET fails the run
# when ENFORCE=1.
compare_pair() { # scenario n name port_nginx port_ours
  local sc=$1 n=$2 name=$3 pn=$4 po=$5 i r
  local n_rps=() n_p99=() o_rps=() o_p99=() rounds=""
  log "$sc, $n thread(s) vs nginx $n worker(s): warm-up, then $ROUNDS x $DURATION per side"
  warmup "$pn"; warmup "$po"
  for ((i = 1; i <= ROUNDS; i++)); do
    wait_quiet
    read -r rps p99 reqs errs < <(wrk_once "$pn")
    [ "$errs" = 0 ] || fail "$sc, $n: nginx round $i had $errs error(s)"
    n_rps+=("$rps"); n_p99+=("$p99")
    wait_quiet
    read -r rps2 p992 reqs2 errs2 < <(wrk_once "$po")
    [ "$errs2" = 0 ] || fail "$sc, $n: $name round $i had $errs2 error(s) (non-2xx or socket)"
    o_rps+=("$rps2"); o_p99+=("$p992")
    rounds+="${rounds:+ }$(awk -v a="$rps2" -v b="$rps" 'BEGIN {printf "%.2f", (b > 0 ? a/b : 0)}')"
    log "  round $i: nginx $rps req/s (p99 $p99 ms), $name $rps2 req/s (p99 $p992 ms)"
  done
  local mn mo pn99 po99 ratio verdict
  mn=$(median "${n_rps[@]}") mo=$(median "${o_rps[@]}")
  pn99=$(median "${n_p99[@]}") po99=$(median "${o_p99[@]}")
  ratio=$(awk -v a="$mo" -v b="$mn" 'BEGIN {printf "%.3f", (b > 0 ? a/b : 0)}')
  # (the verdict compares the unrounded medians: 0.797 must not pass as 0.80)
  if awk -v a="$mo" -v b="$mn" -v t="$TARGET" 'BEGIN {exit !(b > 0 && a >= t * b)}'; then verdict=PASS
  else
    verdict=FAIL
    if [ "$ENFORCE" = 1 ]; then fail "$sc: $name THREADS=$n at ${ratio}x nginx with $n worker(s), target ${TARGET}x"
    else log "$sc: $name THREADS=$n at ${ratio}x nginx (target ${TARGET}x, not enforced: ENFORCE=0)"; fi
  fi
  printf '%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$name" "$n" "$mn" "$mo" "$ratio" \
    "$pn99" "$po99" "$verdict" "$rounds" >> "$res"
}
pair_header() { printf 'scenario\tserver\tthreads=workers\tnginx_req_s\tours_req_s\tratio\tnginx_p99_ms\tours_p99_ms\tverdict\tround_ratios\n' > "$res"; }

# Prints the failures and exits 1 if there were any (0 otherwise).
summary() { # script-name
  if [ "${#failures[@]}" -gt 0 ]; then
    echo "$1: FAIL (${#failures[@]})"; printf '  - %s\n' "${failures[@]}"; exit 1
  fi
  echo "$1: PASS"
}
