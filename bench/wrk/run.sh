#!/bin/sh
# Runs the wrk scripts against a tongban that is already listening.
#   bench/wrk/run.sh [base-url] [duration] [connections] [wrk-threads]
# Example: bench/wrk/run.sh http://127.0.0.1:8080 15s 64 2
# On a small machine give wrk fewer threads than the server so the two do not
# fight for the same cores; compare runs made on the same machine and load.
set -eu
url=${1:-http://127.0.0.1:8080}
duration=${2:-15s}
connections=${3:-64}
threads=${4:-2}
here=$(dirname "$0")
echo "== GET /healthz (keep-alive)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$here/healthz.lua" "$url"
echo "== GET /healthz, a new connection per request"
wrk -t"$threads" -c"$connections" -d"$duration" -H "Connection: close" -s "$here/healthz.lua" "$url"
