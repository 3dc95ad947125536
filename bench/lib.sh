# bench/lib.sh - what both benchmarks share, sourced by bench.sh and resolver-bench.sh.
# Expects B (work dir), PN (nginx port), PATH_UNDER_TEST, BODY, THREADS, CONNS, DURATION,
# the array pids (servers to stop on exit) and a log function. Listens on 127.0.0.1 only.

# nginx with one worker answering PATH_UNDER_TEST with BODY as application/json: the reference
# every ratio is taken against, measured in the same run.
start_nginx() {
  mkdir -p "$B/nginx"
  # NGINX_CPU=n pins the worker to CPU n (bench/loadgen-bench.sh keeps server and client apart)
  local affinity=""
  [ -n "${NGINX_CPU:-}" ] && affinity="worker_cpu_affinity $(python3 -c "print(format(1 << $NGINX_CPU, 'b'))");"
  cat > "$B/nginx/nginx.conf" <<CONF
worker_processes 1;
$affinity
pid $B/nginx/nginx.pid;
error_log $B/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$PN;
    location = $PATH_UNDER_TEST { default_type application/json; return 200 '$BODY'; }
  }
}
CONF
  nginx -c "$B/nginx/nginx.conf" -p "$B/nginx"
  for _ in $(seq 50); do [ -s "$B/nginx/nginx.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$B/nginx/nginx.pid")")
}

# A private cluster in $B/pg with the extension and the benchmark's mock (bench-user on
# PATH_UNDER_TEST returning BODY); sets DSN and defines psqlq.
start_db() {
  scripts/cluster.sh start "$B/pg" 5432 >/dev/null
  DSN="host=$B/pg/run port=5432 dbname=mockarty user=postgres"
  psqlq() { runuser -u postgres -- psql "$DSN" -qAtX -v ON_ERROR_STOP=1 "$@"; }
  psqlq -c "SELECT mockarty.mock_save('{\"id\":\"bench-user\",\"http\":{\"route\":\"$PATH_UNDER_TEST\",\"httpMethod\":\"GET\"},\"response\":{\"statusCode\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},\"payload\":$BODY}}'::jsonb)" >/dev/null
}

# Fails the benchmark unless the server on port answers PATH_UNDER_TEST with BODY (as JSON).
check_body() { # port
  local got; got=$(curl -fsS "http://127.0.0.1:$1$PATH_UNDER_TEST")
  [ "$(echo "$got" | python3 -c 'import json,sys;print(json.dumps(json.load(sys.stdin),sort_keys=True))')" = \
    "$(echo "$BODY" | python3 -c 'import json,sys;print(json.dumps(json.load(sys.stdin),sort_keys=True))')" ] \
    || { log "port $1 answered $got, expected $BODY"; exit 1; }
}

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# A 3 s warm-up, then wrk for DURATION; prints "req_per_s p99_ms".
run_wrk() { # port
  wrk -t"$THREADS" -c"$CONNS" -d3s "http://127.0.0.1:$1$PATH_UNDER_TEST" >/dev/null 2>&1 || true
  local out; out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$1$PATH_UNDER_TEST")
  echo "$out" | grep -qE 'Non-2xx|Socket errors' && log "errors in run on $1: $(echo "$out" | grep -E 'Non-2xx|Socket')"
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}')
  echo "$rps $p99"
}
