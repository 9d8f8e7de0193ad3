#!/usr/bin/env bash
# One command for tongban's figures: Google Benchmark micro-benchmarks, then
# wrk against a real server, every endpoint next to a fixed-body baseline
# (GET /livez) measured in the same run, reported as a ratio.
#   bench/run.sh [build-dir]          (make bench runs it)
# Environment: DURATION (10s), CONNECTIONS (64), SERVER_THREADS (1), MICRO=0 to skip micro.
# The server gets one thread and wrk one thread, so on a 2-core machine each
# has a core; the machine is noisy, so read ratios, not absolute numbers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
duration=${DURATION:-10s}
conns=${CONNECTIONS:-64}
server_threads=${SERVER_THREADS:-1}
py=/usr/bin/python3

command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }

if [ "${MICRO:-1}" != 0 ]; then
  for b in codec_render_bench crypto_sign_bench store_ticket_bench http_parse_bench; do
    echo "== $b"
    "$build/bench/$b" --benchmark_min_time=0.2 2>/dev/null
  done
fi

work=$(mktemp -d /tmp/tongban-bench.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/bench.toml" <<TOML
[server]
access_log = false
threads = $server_threads
[sso]
replay_protection = false
[log]
level = "warn"
TOML

"$build/tongban" serve --config "$work/bench.toml" --data-dir "$work/var" --port 0 \
  > "$work/out" 2> "$work/err" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/err"; exit 1; }
  sleep 0.1
done
url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/out" | head -1)
admin_pwd=$(sed -n 's/.*admin user: *admin \/ \(.*\)$/\1/p' "$work/out")
servicepwd=$(sed -n 's/.*servicecode=demo servicepwd=\(.*\)$/\1/p' "$work/out")
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }

eval "$($py "$here/prepare.py" "$url" demo "$servicepwd" "$admin_pwd")"

run() {  # name script [path body]
  local name=$1 script=$2
  WRK_PATH=${3:-} WRK_BODY=${4:-} wrk -t1 -c"$conns" -d"$duration" --latency \
    -s "$here/wrk/$script" "$url" > "$work/wrk.out" 2>&1 || { cat "$work/wrk.out"; exit 1; }
  local line
  line=$(grep '^RESULT' "$work/wrk.out")
  local reqs dur p50 p99 errs
  reqs=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  dur=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$line")
  p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
  errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")
  local rps=$((reqs * 1000000 / dur))
  [ "$name" = baseline ] && baseline_rps=$rps
  printf "%-28s %10d %9.2f %9.2f %8d %8.2f %7d\n" "$name" "$rps" \
    "$(bc -l <<<"$p50/1000")" "$(bc -l <<<"$p99/1000")" "$(rss_kb)" \
    "$(bc -l <<<"$rps/$baseline_rps")" "$errs"
}

echo
echo "== endpoints: $conns connections, $duration each, server threads: $server_threads"
printf "%-28s %10s %9s %9s %8s %8s %7s\n" endpoint "req/s" "p50 ms" "p99 ms" "RSS kB" ratio errors
run baseline fixed_get.lua /livez
run "easyAuth getUserInfo" signed_call.lua "$EASY_USERINFO_PATH" "$EASY_USERINFO_BODY"
run "commnetAuth getUserInfo" signed_call.lua "$COMM_USERINFO_PATH" "$COMM_USERINFO_BODY"
run "organduser getOrgInfo" signed_call.lua "$ORG_INFO_PATH" "$ORG_INFO_BODY"
# Tickets are single-use: each connection alternates getST and ticketValidation.
export WRK_AUTH=$COMM_AUTH WRK_ACCESSTOKEN=$COMM_ACCESSTOKEN
run "getST + ticketValidation" ticket_validation.lua /sso/servlet/ssoauth
