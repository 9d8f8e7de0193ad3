#!/bin/sh
# Big-file transfer bench: tongban's chunked upload vs `curl -T` to a plain
# receiver over loopback, same file, same run; and the server's RSS.
#   bench/exchange_transfer.sh [BUILD_DIR] [SIZE_MB] [--streams N] [--encryption sm4]
#                              [--sync-each-chunk | --both-sync-modes]
set -eu
here=$(dirname "$0")
build=${1:-build}
[ $# -gt 0 ] && shift
exec python3 "$here/exchange_transfer.py" "$build" "$@"
