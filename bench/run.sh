#!/usr/bin/env bash
# One command for tongban's figures: Google Benchmark micro-benchmarks, then
# wrk against a real server, every endpoint next to two fixed-body baselines
# measured just before it in the same run, reported as ratios: a private nginx
# answering the same 15-byte body (bench/nginx_baseline.py, the baseline issue
# 19 names; NGINX_BASELINE=0 leaves it out) and GET /livez.
#   bench/run.sh [build-dir]          (make bench runs it)
# Environment: DURATION (10s), CONNECTIONS (64), SERVER_THREADS (1),
# BLOCKING_THREADS (= SERVER_THREADS, the pool that runs password hashing),
# BASELINE_DURATION (3s, the nginx and /livez runs before each row that its
# ratios use),
# TICKETS (1000000, the live tickets the RSS row holds), MICRO=0 to skip micro,
# PERF_ROW="<row name>" to record that row's server with perf (cpu-clock, call
# graphs; PERF_CALLGRAPH="--call-graph dwarf" for callers) into $PERF_DIR
# (build/bench-perf) for `perf report -i`. DIRECTORY_USERS=N adds the
# directory import and search rows at N users (bench/directory_scale.py).
# The server gets one thread and wrk one thread, so on a 2-core machine each
# has a core; the machine is noisy, so read ratios, not absolute numbers.
# bench/README.md says what each row measures and how tickets are obtained.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
duration=${DURATION:-10s}
secs=${duration%s}
conns=${CONNECTIONS:-64}
server_threads=${SERVER_THREADS:-1}
# Password hashing gets as many threads as I/O does, so that the login row
# compares one core's logins with one core's raw argon2id rate.
blocking_threads=${BLOCKING_THREADS:-$server_threads}
live_tickets=${TICKETS:-1000000}
py=/usr/bin/python3

command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }
[[ $secs =~ ^[0-9]+$ ]] || { echo "bench: DURATION must be whole seconds, e.g. 10s"; exit 1; }

if [ "${MICRO:-1}" != 0 ]; then
  for b in codec_render_bench crypto_sign_bench store_ticket_bench http_parse_bench \
           sso_sessions_bench; do
    echo "== $b"
    "$build/bench/$b" --benchmark_min_time=0.2 2>/dev/null
  done
fi

work=$(mktemp -d /tmp/tongban-bench.XXXXXX)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
# Background wrk or perf runs of a row that failed go too.
cleanup() {
  local jobs_left
  jobs_left=$(jobs -p)
  if [ -n "$jobs_left" ]; then kill $jobs_left 2>/dev/null || true; fi
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# The nginx baseline for the whole run (installs nginx-light when missing).
. "$here/nginx_baseline.sh"
start_nginx_baseline "$work" "$py"

# start_server NAME REPLAY: a fresh data dir, the demo seed, the app "bench"
# (zj, cas, oidc), then prepare.py's requests evaluated into this shell.
# Tickets and authcodes live long enough for a pool to outlast its run; the
# CAS ticket maximum is 300 s.
start_server() {
  local name=$1 replay=$2 dir=$work/$1
  mkdir -p "$dir"
  cat > "$dir/bench.toml" <<TOML
[server]
access_log = false
threads = $server_threads
blocking_threads = $blocking_threads
[sso]
replay_protection = $replay
ticket_ttl_s = 3600
authcode_ttl_s = 3600
[cas]
ticket_ttl_s = 300
[log]
level = "warn"
TOML
  "$build/tongban" serve --config "$dir/bench.toml" --data-dir "$dir/var" --port 0 \
    > "$dir/out" 2> "$dir/err" &
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
  eval "$($py "$here/prepare.py" "$url" "$demo_pwd" "$admin_pwd" "$bench_pwd")"
  pool=$dir/pool
}

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status"; }
live() { curl -s "$url/metrics" | awk '/^tongban_tickets_live / {print $2}'; }

# resign VALUE: VALUE with its demo-app signature (time=...&sign=..., from
# prepare.py) made again now. prepare.py signs once, at the start, and a slow
# run outlives the server's window (sso.sign_window_s, 300 s), after which
# every call of a later row would fail with 9902; each row is signed just
# before it runs instead. Values without a signature pass unchanged.
resign() {
  local v=$1
  if [[ $v =~ servicecode=demo\&time=([0-9]{14})\&sign=([0-9a-f]{32}) ]]; then
    local old="time=${BASH_REMATCH[1]}&sign=${BASH_REMATCH[2]}" t s
    # The signing time is read as China Standard Time (sso.sign_time_zone).
    t=$(date -u -d "@$(($(date +%s) + 8 * 3600))" +%Y%m%d%H%M%S)
    s=$(printf '%s' "demo$demo_pwd$t" | md5sum | cut -c1-32)
    v="${v%%"$old"*}time=$t&sign=$s${v#*"$old"}"
  fi
  printf '%s' "$v"
}

declare -A rate
# run_wrk CONNS SECONDS [VAR=value ...]: one wrk run of call.lua with the VARs
# in its environment; sets reqs, dur, p50, p99, failed, active.
run_wrk() {
  local c=$1 secs=$2 a
  shift 2
  local vars=()
  for a in "$@"; do vars+=("${a%%=*}=$(resign "${a#*=}")"); done
  env "${vars[@]}" wrk -t1 -c"$c" -d"$secs" --timeout 10s --latency \
    -s "$here/wrk/${WRK_SCRIPT:-call.lua}" "${target:-$url}" > "$work/wrk.out" \
    2> "$work/wrk.err" ||
    { cat "$work/wrk.out" "$work/wrk.err"; exit 1; }
  local line errs
  line=$(grep '^RESULT' "$work/wrk.out") || { cat "$work/wrk.out" "$work/wrk.err"; exit 1; }
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$line"; }
  reqs=$(field requests) dur=$(field duration_us) p50=$(field p50_us) p99=$(field p99_us)
  errs=$(field errors) failed=$(field failed) active=$(field active_us)
  failed=$(( ${failed:-0} + errs ))
}

# measure NAME CONNS [VAR=value ...]: a table row for one wrk run, its req/s
# kept in rate[NAME]. The ratio's baseline is GET /livez measured just before
# the row (BASELINE_DURATION, 3 s), so that the machine's drift over a run -
# other tenants, CPU frequency - moves both sides of a ratio alike.
measure() {
  local name=$1 c=$2
  shift 2
  local base_rps="" ngx_rps=""
  if [ -n "$nginx_url" ]; then
    target=$nginx_url WRK_SCRIPT=call.lua run_wrk "$conns" "${BASELINE_DURATION:-3s}" \
      WRK_METHOD=GET WRK_PATH=/livez WRK_OK='"ok"'
    ngx_rps=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
  fi
  if [ "$name" != baseline ]; then
    WRK_SCRIPT=call.lua run_wrk "$conns" "${BASELINE_DURATION:-3s}" WRK_METHOD=GET \
      WRK_PATH=/livez WRK_OK='"ok"'
    base_rps=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
  fi
  local perf_pid=""
  if [ "$name" = "${PERF_ROW:-}" ]; then
    local perf_dir=${PERF_DIR:-$build/bench-perf}
    mkdir -p "$perf_dir"
    perf record -q -e cpu-clock -F 2000 ${PERF_CALLGRAPH:--g} -p "$server_pid" \
      -o "$perf_dir/${name//[^A-Za-z0-9]/_}.data" 2> "$work/perf.err" &
    perf_pid=$!
  fi
  # ALONGSIDE_PATH/_BODY: a second wrk (one connection, call.lua) runs that
  # request for the same time, e.g. password logins next to validations.
  local alongside_pid=""
  if [ -n "${ALONGSIDE_BODY:-}" ]; then
    WRK_PATH=$ALONGSIDE_PATH WRK_BODY=$(resign "$ALONGSIDE_BODY") wrk -t1 -c1 \
      -d"${WRK_DURATION:-$duration}" --timeout 10s --latency -s "$here/wrk/call.lua" "$url" \
      > "$work/alongside.out" 2>&1 &
    alongside_pid=$!
  fi
  run_wrk "$c" "${WRK_DURATION:-$duration}" "$@"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" || cat "$work/perf.err"
  fi
  local rps
  rps=$(bc -l <<<"scale=1; $reqs * 1000000 / $dur")
  rate[$name]=$rps
  [ -z "$base_rps" ] && base_rps=$rps
  local ngx_col=- ngx_ratio=-
  if [ -n "$ngx_rps" ]; then
    ngx_col=$(printf "%.0f" "$ngx_rps") ngx_ratio=$(printf "%.2f" "$(bc -l <<<"$rps/$ngx_rps")")
  fi
  printf "%-36s %9.0f %8.2f %8.2f %7s %9s %9.0f %7s %7.2f %7d\n" "$name" "$rps" \
    "$(bc -l <<<"$p50/1000")" "$(bc -l <<<"$p99/1000")" "$(rss_mb)" "$ngx_col" "$base_rps" \
    "$ngx_ratio" "$(bc -l <<<"$rps/$base_rps")" "$failed"
  if [ "$failed" -gt 0 ]; then sed 's/^/    /' "$work/wrk.err" | head -3; fi
  if [ "${active:-0}" -gt 0 ]; then
    printf "    (stopped after %.1f s: pool used up or limit reached; rate over that time)\n" \
      "$(bc -l <<<"$active/1000000")"
  fi
  if [ -n "$alongside_pid" ]; then
    wait "$alongside_pid" || { cat "$work/alongside.out"; exit 1; }
    local along
    along=$(grep '^RESULT' "$work/alongside.out") || { cat "$work/alongside.out"; exit 1; }
    local a_reqs a_dur a_p99 a_failed
    a_reqs=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$along")
    a_dur=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$along")
    a_p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$along")
    a_failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$along")
    printf "    alongside, one connection: %.1f req/s, p99 %.1f ms, %d failed\n" \
      "$(bc -l <<<"$a_reqs * 1000000 / $a_dur")" "$(bc -l <<<"$a_p99/1000")" "${a_failed:-0}"
  fi
}

header() {
  echo
  echo "== $1: $conns connections (login: 4), $duration each, server threads: $server_threads" \
    "(+ $blocking_threads blocking)"
  printf "%-36s %9s %8s %8s %7s %9s %9s %7s %7s %7s\n" endpoint "req/s" "p50 ms" "p99 ms" \
    "RSS MB" "nginx/s" "/livez/s" /nginx /livez failed
}

# ---- Server A: replay protection off, so one signed request can be repeated.
start_server a false
header "server A (sso.replay_protection = false)"
measure baseline "$conns" WRK_METHOD=GET WRK_PATH=/livez WRK_OK='"ok"'
measure "easyAuth getUserInfo" "$conns" WRK_PATH="$EASY_PATH" WRK_BODY="$EASY_USERINFO_BODY"
measure "commnetAuth getUserInfo" "$conns" WRK_PATH="$COMM_PATH" WRK_BODY="$COMM_USERINFO_BODY"
measure "organduser getOrgInfo" "$conns" WRK_PATH="$ORG_PATH" WRK_BODY="$ORG_INFO_BODY"
# getST issues a ticket per call; the tickets go to a pool the validations use.
tr ' ' '\n' <<<"$GETST_TOKENS" > "$pool.tokens"
measure "commnetAuth getST (ticket issue)" "$conns" WRK_PATH="$COMM_PATH" \
  WRK_BODY="$GETST_BODY" WRK_CYCLE_IN="$pool.tokens" WRK_POOL_OUT="$pool.st" \
  WRK_EXTRACT='"st":"([^"]+)"'
# Fill the store up to TICKETS live tickets; the run stops itself at the count.
have=$(live)
need=$((live_tickets - have))
getst_rate=${rate["commnetAuth getST (ticket issue)"]}
# A short run may issue no ticket at all: then there is no rate to size the fill by.
if [ "$need" -gt 0 ] && [ "$(bc <<<"$getst_rate > 0")" = 1 ]; then
  fill_secs=$(bc <<<"$need * 13 / 10 / ${rate["commnetAuth getST (ticket issue)"]} + 2")
  WRK_DURATION=${fill_secs}s measure "getST fill to $live_tickets tickets" "$conns" \
    WRK_PATH="$COMM_PATH" WRK_BODY="$GETST_BODY" WRK_CYCLE_IN="$pool.tokens" \
    WRK_POOL_OUT="$pool.st" \
    WRK_EXTRACT='"st":"([^"]+)"' WRK_LIMIT="$need" > /dev/null
fi
printf "%-36s %9s %8s %8s %7s %9s %7s   live tickets/tokens: %s\n" \
  "RSS with $live_tickets live tickets" - - - "$(rss_mb)" - - "$(live)"
# Each validation takes the next ticket from the pool: one request, one ticket.
head -n $(( $(wc -l < "$pool.st") / 2 )) "$pool.st" > "$pool.st1"
tail -n +$(( $(wc -l < "$pool.st") / 2 + 1 )) "$pool.st" > "$pool.st2"
measure "easyAuth ticketValidation" "$conns" WRK_PATH="$EASY_PATH" WRK_BODY="$EASY_TV_BODY" \
  WRK_POOL_IN="$pool.st1"
measure "commnetAuth ticketValidation" "$conns" WRK_PATH="$COMM_PATH" WRK_BODY="$COMM_TV_BODY" \
  WRK_POOL_IN="$pool.st2" WRK_POOL_OUT="$pool.ac" WRK_EXTRACT='"authcode":"([^"]+)"'
measure "commnetAuth getToken" "$conns" WRK_PATH="$COMM_PATH" WRK_BODY="$GETTOKEN_BODY" \
  WRK_POOL_IN="$pool.ac"
measure "commnetAuth refAccessToken" "$conns" WRK_PATH="$COMM_PATH" WRK_BODY="$REFRESH_BODY"
measure "OIDC token (client_credentials)" "$conns" WRK_PATH=/sso/oidc/token \
  WRK_BODY="$OIDC_BODY" WRK_OK='"access_token"'
# CAS: the browser's session gets service tickets from /login (302), which
# serviceValidate then redeems, one each.
measure "CAS /login (ticket issue, 302)" "$conns" WRK_METHOD=GET \
  WRK_PATH="/sso/cas/login?service=$CAS_SERVICE_Q" WRK_COOKIE="$SSO_COOKIE" WRK_STATUS=302 \
  WRK_OK="" WRK_POOL_OUT="$pool.cas" WRK_EXTRACT_HEADER=Location WRK_EXTRACT='ticket=([^&]+)'
measure "CAS p3/serviceValidate" "$conns" WRK_METHOD=GET \
  WRK_PATH="/sso/cas/p3/serviceValidate?service=$CAS_SERVICE_Q&ticket={}" \
  WRK_OK="authenticationSuccess" WRK_POOL_IN="$pool.cas"
# The pre-pool measure, kept for comparison: getST and ticketValidation
# alternating on each connection (half the requests are validations).
WRK_SCRIPT=ticket_validation.lua measure "getST + ticketValidation (pair)" "$conns" \
  WRK_PATH="$COMM_PATH" WRK_AUTH="$COMM_AUTH" WRK_ACCESSTOKEN="$COMM_ACCESSTOKEN"
# Password login is argon2id-bound: few connections, set against the raw
# verification rate of the same cost, measured now on the idle server's core.
# Empty when the micro-benchmarks are not built (TONGBAN_BUILD_BENCH=OFF) or
# print no JSON: the derived line then says so instead of the run failing.
argon_ms=""
if [ -x "$build/bench/crypto_password_bench" ]; then
  argon_ms=$("$build/bench/crypto_password_bench" \
    --benchmark_filter=BM_VerifyPasswordDefaultParams --benchmark_min_time=2 \
    --benchmark_format=json 2>/dev/null | $py -c '
import json, sys
try:
    print(json.load(sys.stdin)["benchmarks"][0]["real_time"])
except (ValueError, KeyError, IndexError):
    pass') || argon_ms=""
fi
measure "easyAuth idValidation (login)" 4 WRK_PATH="$EASY_PATH" WRK_BODY="$LOGIN_BODY"
# The pair again while one client logs in with its password over and over:
# argon2id runs on the blocking pool, so validations should barely notice.
ALONGSIDE_PATH="$EASY_PATH" ALONGSIDE_BODY="$LOGIN_BODY" WRK_SCRIPT=ticket_validation.lua \
  measure "pair while logins run" "$conns" \
  WRK_PATH="$COMM_PATH" WRK_AUTH="$COMM_AUTH" WRK_ACCESSTOKEN="$COMM_ACCESSTOKEN"
stop_server

# ---- Server B: replay protection on (the default). Only requests that are
# distinct by nature can be measured: validations of pool tickets, issued by
# the browser's zfRedirect (no signed call, so no replay mark).
start_server b true
header "server B (sso.replay_protection = true, the default)"
tr ' ' '\n' <<<"$SSO_SESSIONS" > "$pool.browsers"
measure baseline "$conns" WRK_METHOD=GET WRK_PATH=/livez WRK_OK='"ok"'
measure "usp.do zfRedirect (ticket issue, 302)" "$conns" WRK_METHOD=GET \
  WRK_PATH="/sso/usp.do?action=zfRedirect&servicecode=demo" WRK_COOKIE="TBSSO={}" \
  WRK_CYCLE_IN="$pool.browsers" \
  WRK_STATUS=302 WRK_OK="" WRK_POOL_OUT="$pool.st" WRK_EXTRACT_HEADER=Location \
  WRK_EXTRACT='ticket=([^&]+)'
measure "easyAuth ticketValidation +replay" "$conns" WRK_PATH="$EASY_PATH" \
  WRK_BODY="$EASY_TV_BODY" WRK_POOL_IN="$pool.st"
stop_server

echo
echo "== derived"
pair=${rate["getST + ticketValidation (pair)"]}
getst=${rate["commnetAuth getST (ticket issue)"]}
printf "pair: %.0f validations/s (half of %.0f req/s)\n" "$(bc -l <<<"$pair / 2")" "$pair"
login=${rate["easyAuth idValidation (login)"]}
if [ -n "$argon_ms" ]; then
  printf "argon2id verify at the configured cost: %.1f ms = %.2f/s; login %.2f/s = %.0f%% of it\n" \
    "$argon_ms" "$(bc -l <<<"1000/$argon_ms")" "$login" "$(bc -l <<<"100*$login*$argon_ms/1000")"
else
  printf "argon2id verify: not measured (no %s); login %.2f/s\n" \
    "$build/bench/crypto_password_bench" "$login"
fi
printf "getST alone: %.0f/s\n" "$getst"

# The directory at scale (issue 19): DIRECTORY_USERS=1000000 bench/run.sh
# also imports that many users on SQLite and a private PostgreSQL and times
# the console's search by name (bench/directory_scale.py; ROWS=search,lookup).
if [ -n "${DIRECTORY_USERS:-}" ]; then
  echo
  echo "== directory at ${DIRECTORY_USERS} users"
  USERS="$DIRECTORY_USERS" ROWS="${DIRECTORY_ROWS:-search}" "$py" "$here/directory_scale.py" "$build"
fi
