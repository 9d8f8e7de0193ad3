#!/usr/bin/env bash
# Approval figures (issue 14), each against a baseline measured in the same run:
#  1. whole case lifecycles (收件 → 受理 → 3 steps → 办结) through the HTTP API of a
#     real `tongban serve` (SQLite, one server thread), driven by wrk with
#     wrk/approval_lifecycle.lua as the demo clerk;
#  2. the same SQL statements issued straight through SOCI (approval_engine_bench
#     BM_SqlLifecycle, a transaction each; BM_SqlLifecycleGrouped, 16 per commit
#     with a savepoint each, as the server's write lane commits them) and the
#     engine without HTTP (BM_EngineLifecycle);
#  3. a clerk's 待办 page among APPROVAL_TODO_CASES cases (default 1,000,000) on
#     SQLite, and, with PG=1, among APPROVAL_TODO_CASES_PG (default 5,000,000) on a
#     private PostgreSQL (BM_Todo: p50/p99).
#   bench/approval.sh [build-dir]
# Environment: DURATION (10s), CONNECTIONS (16), PG=1 for the PostgreSQL row,
# PERF_OUT=<file> to record the server with perf during the lifecycle run,
# LIFECYCLE_ONLY=1 for the HTTP row alone (A/B rounds of two binaries), PIN=1 to
# pin the server to core 0 and wrk to core 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
# At most 9,999 registrations per matter and day (the case number's 4-digit
# serial): at ~1,400 lifecycles/s a 10 s run would exhaust it and every later
# registration would fail (see "failed" below), so 6 s.
duration=${DURATION:-6s}
conns=${CONNECTIONS:-16}
py=/usr/bin/python3
command -v wrk >/dev/null || { echo "bench: wrk is missing (make deps)"; exit 1; }

work=$(mktemp -d /tmp/tongban-approval-bench.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. lifecycles through HTTP ---
cat > "$work/bench.toml" <<TOML
[server]
access_log = false
threads = 1
blocking_threads = 1
[log]
level = "warn"
TOML
# PIN=1: the server on core 0 and wrk on core 1, so "one server core" is literal.
pin_server=() pin_wrk=()
if [ "${PIN:-0}" = 1 ]; then pin_server=(taskset -c 0) pin_wrk=(taskset -c 1); fi
"${pin_server[@]}" "$build/tongban" serve --config "$work/bench.toml" --data-dir "$work/var" --port 0 \
  > "$work/out" 2> "$work/err" &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/err"; exit 1; }
  sleep 0.1
done
url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/out" | head -1)
clerk_pwd=$(sed -n 's/.*approval clerk.*login=clerk password=\([^ ]*\).*/\1/p' "$work/out")
matter=$(sed -n 's/.*demo matter: *\([0-9A-Z]*\).*/\1/p' "$work/out")
[ -n "$clerk_pwd" ] && [ -n "$matter" ] || { echo "bench: no approval demo seed in:"; cat "$work/out"; exit 1; }

# The clerk's SSO session and CSRF token, through the login form as a browser gets them.
eval "$($py - "$url" "$clerk_pwd" <<'PY'
import re, sys, requests
url, pwd = sys.argv[1], sys.argv[2]
s = requests.Session()
page = s.get(url + "/sso/usp.do?action=ssoLogin")
csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
r = s.post(url + "/sso/usp.do", data={"action": "ssoLogin", "csrf": csrf,
                                      "loginname": "clerk", "password": pwd},
           allow_redirects=False)
assert r.status_code == 302 and s.cookies.get("TBSSO"), r.text[:300]
me = s.get(url + "/approval/api/me").json()
print("cookie='TBSSO=%s'" % s.cookies.get("TBSSO"))
print("csrf='%s'" % me["csrf"])
PY
)"
applicant='{"type":"person","name":"张三","id_type":"10","id_number":"11010519491231002X","mobile":"13800000000"}'
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
cpu_before=$(cpu_ticks)
perf_pid=""
if [ -n "${PERF_OUT:-}" ]; then  # PERF_OUT=file: record the server during the wrk run
  perf record -e cpu-clock -F 999 -g -p "$server_pid" -o "$PERF_OUT" >/dev/null 2>&1 &
  perf_pid=$!
fi
WRK_COOKIE="$cookie" WRK_CSRF="$csrf" WRK_MATTER="$matter" WRK_APPLICANT="$applicant" \
  "${pin_wrk[@]}" wrk -t1 -c"$conns" -d"$duration" --timeout 10s --latency -s "$here/wrk/approval_lifecycle.lua" \
  "$url" > "$work/wrk.out" 2>&1 || { cat "$work/wrk.out"; exit 1; }
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
line=$(grep '^RESULT' "$work/wrk.out") || { cat "$work/wrk.out"; exit 1; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
lifecycles=$(field lifecycles) seconds=$(field seconds) failed=$(field failed)
http_rate=$(echo "scale=1; $lifecycles / $seconds" | bc)
if [ "$failed" != 0 ]; then
  echo "bench: $failed requests failed (the first failure is above); the rates below are not figures" >&2
fi
server_cpu=$(echo "scale=2; ($(cpu_ticks) - $cpu_before) / $(getconf CLK_TCK)" | bc)
# One core's worth: lifecycles per second of the server's CPU time (the
# machine is shared, so wall-clock rates understate what a core does).
http_core_rate=$(echo "scale=1; $lifecycles / $server_cpu" | bc)
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
if [ "${LIFECYCLE_ONLY:-0}" = 1 ]; then  # A/B rounds of binaries: the HTTP row alone
  echo "lifecycles/s=$http_rate per_cpu_s=$http_core_rate failed=$failed cpu_s=$server_cpu"
  exit 0
fi

# --- 2. the same statements through SOCI, and the engine alone ---
APPROVAL_TODO_CASES=${APPROVAL_TODO_CASES:-1000000} "$build/bench/approval_engine_bench" \
  --benchmark_min_time=2 --benchmark_format=json > "$work/engine.json" 2> "$work/engine.err" ||
  { cat "$work/engine.err"; exit 1; }
read -r sql_rate grouped_rate engine_rate todo_p50 todo_p99 <<<"$($py - "$work/engine.json" <<'PY'
import json, sys
rows = {b["name"].split("/")[0]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
def rate(name, per_iteration=1):  # lifecycles per second of CPU time: one core's worth
    b = rows[name]
    return per_iteration * 1e6 / b["cpu_time"] if b["time_unit"] == "us" else float("nan")
print("%.1f %.1f %.1f %.0f %.0f" % (rate("BM_SqlLifecycle"), rate("BM_SqlLifecycleGrouped", 16),
                                    rate("BM_EngineLifecycle"),
                                    rows["BM_Todo"]["p50_us"], rows["BM_Todo"]["p99_us"]))
PY
)"

echo "== approval (same run)"
printf "%-44s %12s\n" "row" "figure"
printf "%-44s %12s\n" "HTTP lifecycles/s (wrk, $conns conns)" "$http_rate"
printf "%-44s %12s\n" "  of which failed requests" "$failed"
printf "%-44s %12s\n" "  server CPU seconds over the run" "$server_cpu"
printf "%-44s %12s\n" "HTTP lifecycles per server CPU second" "$http_core_rate"
printf "%-44s %12s\n" "SQL-only lifecycles/s (one core, SOCI)" "$sql_rate"
printf "%-44s %12s\n" "  the same, group commit of 16 (SOCI)" "$grouped_rate"
printf "%-44s %12s\n" "engine lifecycles/s (one core, no HTTP)" "$engine_rate"
printf "%-44s %12s\n" "ratio HTTP (per CPU s) / SQL-only" "$(echo "scale=2; $http_core_rate / $sql_rate" | bc)"
printf "%-44s %12s\n" "ratio HTTP (per CPU s) / SQL-only grouped" "$(echo "scale=2; $http_core_rate / $grouped_rate" | bc)"
printf "%-44s %12s\n" "待办 p50 / p99 us (SQLite, ${APPROVAL_TODO_CASES:-1000000} cases)" "$todo_p50 / $todo_p99"

# --- 3. 待办 on PostgreSQL ---
if [ "${PG:-0}" = 1 ]; then
  # A private PostgreSQL (tests/integration/stores.py: a free port, a temp dir,
  # run as the postgres user when we are root), filled and timed by the bench.
  PYTHONPATH="$here/../tests/integration" $py - "$build" "${APPROVAL_TODO_CASES_PG:-5000000}" <<'PY'
import json, os, subprocess, sys
from stores import PrivatePostgres
build, cases = sys.argv[1], sys.argv[2]
with PrivatePostgres() as pg:
    env = dict(os.environ, APPROVAL_BENCH_URL=pg.new_database_url(), APPROVAL_TODO_CASES=cases)
    out = subprocess.run([build + "/bench/approval_engine_bench", "--benchmark_filter=Todo",
                          "--benchmark_format=json"], env=env, check=True,
                         capture_output=True, text=True).stdout
b = [x for x in json.loads(out)["benchmarks"] if x["name"].startswith("BM_Todo")][0]
print("%-44s %12s" % ("待办 p50 / p99 us (PostgreSQL, %s cases)" % cases,
                      "%.0f / %.0f" % (b["p50_us"], b["p99_us"])))
PY
fi
