#!/usr/bin/env bash
# The ticket store's figures (issue 19): ticket issue and validation with the
# tickets in memory, in Redis on loopback, and in Redis behind a delay proxy
# adding DELAY_MS (0.5 ms) each way. Every row next to two fixed-body
# baselines measured just before it with the same wrk command: a private
# nginx answering the same 15-byte body (bench/nginx_baseline.py: one worker,
# no access log, keep-alive; the baseline issue 19 names) and GET /livez on
# the same server (ratios; the machine is noisy: read ratios). Then the Redis
# round trips of each call, counted with MONITOR.
#   bench/tickets.sh [build-dir]
# Environment: DURATION (10s), CONNECTIONS (64), SERVER_THREADS (1),
# DELAY_MS (0.5), ROUND_TRIP_CALLS (50), STORES ("memory redis redis-delay";
# also redis-unix: the same Redis through a Unix socket),
# PERF_ROW (a row's name: perf record of the server during it, to PERF_OUT),
# COMMANDSTATS=1 (Redis's time per command after the redis rows),
# STRACE_ROW (a row's name: the server's system calls during it, counted by
# strace -c -f, printed per request; strace slows the row, so its rate and
# CPU figures are not comparable with the others), PIN=1 (tongban, Redis and
# the proxy on core 0, wrk on core 1: "Redis on the same core" literally;
# nginx is on core 0 too), NGINX_BASELINE=0 (no nginx rows; its columns "-").
# Needs wrk, redis-server, python3 with requests; nginx-light is installed on
# demand (bench/nginx_baseline.py says how).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
duration=${DURATION:-10s}
conns=${CONNECTIONS:-64}
server_threads=${SERVER_THREADS:-1}
delay_ms=${DELAY_MS:-0.5}
py=/usr/bin/python3
command -v wrk >/dev/null || { echo "tickets: wrk is missing"; exit 1; }
command -v redis-server >/dev/null || { echo "tickets: redis-server is missing"; exit 1; }

work=$(mktemp -d /tmp/tongban-tickets.XXXXXX)
pin_server=() pin_wrk=()
if [ "${PIN:-0}" = 1 ]; then pin_server=(taskset -c 0) pin_wrk=(taskset -c 1); fi
proxy_cmd=("$py" -u "$here/../tests/integration/delay_proxy.py")
if [ "${PROXY:-c}" != python ]; then
  cc -O2 -o "$work/delay_proxy" "$here/delay_proxy.c" || { echo "tickets: cc failed"; exit 1; }
  proxy_cmd=("$work/delay_proxy")
fi
server_pid="" redis_pid="" proxy_pid="" nginx_pid=""
stop() {
  local p
  for p in "$server_pid" "$proxy_pid" "$redis_pid"; do
    if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  server_pid="" redis_pid="" proxy_pid=""
}
stop_nginx() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  nginx_pid=""
}
trap 'stop; stop_nginx; rm -rf "$work"' EXIT

# The nginx baseline, for the whole run, on the server's core when PIN=1.
. "$here/nginx_baseline.sh"
start_nginx_baseline "$work" "$py" "${pin_server[@]}"

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start STORE: redis-server and the proxy when the store needs them, then
# tongban with replay protection off (bench/run.sh's server A), prepared by prepare.py.
start() {
  local store=$1 dir=$work/$1 tickets=memory
  mkdir -p "$dir"
  if [ "$store" != memory ]; then
    redis_port=$(free_port)
    local unix_args=()  # redis-unix: tongban reaches Redis through a Unix socket
    if [ "$store" = redis-unix ]; then unix_args=(--unixsocket "$dir/redis.sock"); fi
    "${pin_server[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
      "${unix_args[@]}" --dir "$dir" > "$dir/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    tickets=redis://127.0.0.1:$redis_port
    if [ "$store" = redis-unix ]; then tickets=unix://$dir/redis.sock; fi
    if [ "$store" = redis-delay ]; then
      "${pin_server[@]}" "${proxy_cmd[@]}" "$redis_port" "$delay_ms" \
        > "$dir/proxy.out" 2> "$dir/proxy.err" &
      proxy_pid=$!
      for _ in $(seq 1 100); do grep -q '^port' "$dir/proxy.out" && break; sleep 0.05; done
      tickets=redis://127.0.0.1:$(awk '/^port/ {print $2}' "$dir/proxy.out")
    fi
  fi
  cat > "$dir/bench.toml" <<TOML
[server]
access_log = false
threads = $server_threads
blocking_threads = $server_threads
[sso]
replay_protection = false
ticket_ttl_s = 3600
authcode_ttl_s = 3600
[cas]
ticket_ttl_s = 300
[log]
level = "info"
TOML
  "${pin_server[@]}" "$build/tongban" serve --config "$dir/bench.toml" --data-dir "$dir/var" --port 0 \
    --tickets "$tickets" > "$dir/out" 2> "$dir/err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$dir/out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir/err"; exit 1; }
    sleep 0.1
  done
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$dir/out" | head -1)
  local admin_pwd bench_pwd
  admin_pwd=$(sed -n 's/.*admin user: *admin \/ \(.*\)$/\1/p' "$dir/out")
  demo_pwd=$(sed -n 's/.*servicecode=demo servicepwd=\(.*\)$/\1/p' "$dir/out")
  bench_pwd=$("$build/tongban" admin --data-dir "$dir/var" app create --name bench \
    --servicecode bench --protocols zj,cas,oidc --open-to-all \
    --callback http://127.0.0.1/bench/ | sed -n 's/^servicepwd=//p')
  set -a
  eval "$($py "$here/prepare.py" "$url" "$demo_pwd" "$admin_pwd" "$bench_pwd")"
  set +a
  pool=$dir/pool
}

# run_wrk CONNS SECONDS [VAR=value ...]: sets reqs, dur, p99, failed.
run_wrk() {
  local c=$1 secs=$2 line
  shift 2
  env "$@" "${pin_wrk[@]}" wrk -t1 -c"$c" -d"$secs" --timeout 10s --latency -s "$here/wrk/call.lua" \
    "${target:-$url}" \
    > "$work/wrk.out" 2> "$work/wrk.err" || { cat "$work/wrk.out" "$work/wrk.err"; exit 1; }
  line=$(grep '^RESULT' "$work/wrk.out") || { cat "$work/wrk.out" "$work/wrk.err"; exit 1; }
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  reqs=$(field requests) dur=$(field duration_us) p99=$(field p99_us)
  failed=$(( $(field failed) + $(field errors) ))
}

# cpu_ticks PID: user + system CPU of a process so far, in clock ticks (0 when none).
cpu_ticks() {
  if [ -z "$1" ] || [ ! -r "/proc/$1/stat" ]; then echo 0; return; fi
  awk '{print $14 + $15}' "/proc/$1/stat"
}
# thread_ticks PID NAME: CPU of the process's threads called NAME ("io": the
# main thread, which runs I/O thread 0; "tb-redis": the Redis pipeline's).
thread_ticks() {
  local t sum=0
  if [ -z "$1" ] || [ ! -d "/proc/$1/task" ]; then echo 0; return; fi
  for t in /proc/$1/task/*; do
    if { [ "$2" = io ] && [ "${t##*/}" = "$1" ]; } ||
       { [ "$2" != io ] && [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; }; then
      sum=$(( sum + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0) ))
    fi
  done
  echo "$sum"
}
# Threads of tongban's pipeline, the proxy and redis count as CPU too.
per_req() { bc -l <<<"scale=1; ($2 - $1) * 1000000 / $(getconf CLK_TCK) / $reqs"; }

# nginx_ticks: CPU of the nginx baseline (master and its worker).
nginx_ticks() {
  local sum=0 p
  [ -n "$nginx_pid" ] || { echo 0; return; }
  for p in $nginx_pid $(pgrep -P "$nginx_pid" || true); do sum=$(( sum + $(cpu_ticks "$p") )); done
  echo "$sum"
}

# row NAME [VAR=value ...]: nginx for 3 s, /livez for 3 s, then the row;
# prints the three rates, both ratios, and the CPU microseconds per request
# of nginx (its 3 s), tongban (all threads; of them the I/O thread and the
# Redis pipeline's thread), redis-server and the proxy.
row() {
  local name=$1 base rps t0 r0 p0 i0 q0 ngx="" ngx_cpu="" n0
  shift
  if [ -n "$nginx_url" ]; then
    n0=$(nginx_ticks)
    target=$nginx_url run_wrk "$conns" 3s WRK_METHOD=GET WRK_PATH=/livez WRK_OK='"ok"'
    ngx=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
    ngx_cpu=$(per_req "$n0" "$(nginx_ticks)")
  fi
  local l0 livez_cpu
  l0=$(cpu_ticks "$server_pid")
  run_wrk "$conns" 3s WRK_METHOD=GET WRK_PATH=/livez WRK_OK='"ok"'
  base=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
  livez_cpu=$(per_req "$l0" "$(cpu_ticks "$server_pid")")
  t0=$(cpu_ticks "$server_pid") r0=$(cpu_ticks "$redis_pid") p0=$(cpu_ticks "$proxy_pid")
  i0=$(thread_ticks "$server_pid" io) q0=$(thread_ticks "$server_pid" tb-redis)
  local perf_pid=""
  if [ -n "${PERF_ROW:-}" ] && [ "$name" = "$PERF_ROW" ] && command -v perf >/dev/null; then
    # PERF_ROW="easyAuth ticketValidation": a profile of that row (all threads).
    perf record -q -g -p "$server_pid" -o "${PERF_OUT:-/tmp/tickets-$store.perf}" \
      -- sleep "${duration%s}" > /dev/null 2>&1 &
    perf_pid=$!
  fi
  local strace_pid="" strace_out="$work/strace.$store"
  if [ -n "${STRACE_ROW:-}" ] && [ "$name" = "$STRACE_ROW" ] && command -v strace >/dev/null; then
    strace -c -f -p "$server_pid" -o "$strace_out" > /dev/null 2>&1 &
    strace_pid=$!
    sleep 0.5
  fi
  run_wrk "$conns" "$duration" "$@"
  if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
  if [ -n "$strace_pid" ]; then
    kill -INT "$strace_pid" 2>/dev/null || true
    wait "$strace_pid" 2>/dev/null || true
    # Calls per request of each system call the server made during the row.
    awk -v reqs="$reqs" -v store="$store" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
        printf "%s strace: %-16s %6.2f per request\n", store, $NF, $4 / reqs }
      /total/ { printf "%s strace: %-16s %6.2f per request (%d requests)\n", store, "all", $4 / reqs, reqs }' \
      "$strace_out" || true
  fi
  rps=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
  local ngx_ratio=- ngx_col=- ngx_cpu_col=-
  if [ -n "$ngx" ]; then
    ngx_ratio=$(printf "%.2f" "$(bc -l <<<"$rps/$ngx")") ngx_col=$(printf "%.0f" "$ngx")
    ngx_cpu_col=$(printf "%.1f" "$ngx_cpu")
  fi
  printf "%-12s %-28s %8.0f %7.2f %8s %8.0f %6s %6.2f %6d %7s %7.1f %8.1f %7.1f %7.1f %7.1f %7.1f\n" \
    "$store" "$name" "$rps" "$(bc -l <<<"$p99/1000")" "$ngx_col" "$base" "$ngx_ratio" \
    "$(bc -l <<<"$rps/$base")" "$failed" "$ngx_cpu_col" "$livez_cpu" \
    "$(per_req "$t0" "$(cpu_ticks "$server_pid")")" \
    "$(per_req "$i0" "$(thread_ticks "$server_pid" io)")" \
    "$(per_req "$q0" "$(thread_ticks "$server_pid" tb-redis)")" \
    "$(per_req "$r0" "$(cpu_ticks "$redis_pid")")" \
    "$(per_req "$p0" "$(cpu_ticks "$proxy_pid")")"
}

# "/nginx" and "/livez": the row's rate over each baseline's; "ng us/r" and
# "lz us/r": the CPU a request of nginx and of tongban in the two baseline runs.
printf "%-12s %-28s %8s %7s %8s %8s %6s %6s %6s %7s %7s %8s %7s %7s %7s %7s\n" store endpoint \
  "req/s" "p99 ms" "nginx/s" "/livez/s" /nginx /livez failed "ng us/r" "lz us/r" "tb us/r" \
  "io us/r" "rp us/r" "rd us/r" "px us/r"
for store in ${STORES:-memory redis redis-delay}; do
  start "$store"
  tr ' ' '\n' <<<"$GETST_TOKENS" > "$pool.tokens"
  row "commnetAuth getST" WRK_PATH="$COMM_PATH" WRK_BODY="$GETST_BODY" \
    WRK_CYCLE_IN="$pool.tokens" WRK_POOL_OUT="$pool.st" WRK_EXTRACT='"st":"([^"]+)"'
  row "easyAuth ticketValidation" WRK_PATH="$EASY_PATH" WRK_BODY="$EASY_TV_BODY" \
    WRK_POOL_IN="$pool.st"
  row "CAS /login (session, 302)" WRK_METHOD=GET \
    WRK_PATH="/sso/cas/login?service=$CAS_SERVICE_Q" WRK_COOKIE="$SSO_COOKIE" WRK_STATUS=302 \
    WRK_OK="" WRK_POOL_OUT="$pool.cas" WRK_EXTRACT_HEADER=Location WRK_EXTRACT='ticket=([^&]+)'
  row "CAS p3/serviceValidate" WRK_METHOD=GET \
    WRK_PATH="/sso/cas/p3/serviceValidate?service=$CAS_SERVICE_Q&ticket={}" \
    WRK_OK="authenticationSuccess" WRK_POOL_IN="$pool.cas"
  if [ "$store" = redis ]; then
    echo "-- Redis round trips per call (MONITOR; commands a script runs are not round trips)"
    $py "$here/round_trips.py" "$url" "$redis_port" "${ROUND_TRIP_CALLS:-50}"
    if [ -n "${COMMANDSTATS:-}" ]; then  # where Redis's own time went, by command
      redis-cli -p "$redis_port" info commandstats | grep -E '^cmdstat_(evalsha|set|get|getdel|sadd)'
    fi
  fi
  stop
  # The pipeline's own count, logged when the server stops: calls per write and per read.
  grep -h "redis pipeline:" "$work/$store/err" "$work/$store/out" 2>/dev/null | sed "s/^/$store: /" || true
  grep -h "delay proxy:" "$work/$store/proxy.err" 2>/dev/null | sed "s/^/$store: /" || true
done
