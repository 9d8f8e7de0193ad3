#!/usr/bin/env bash
# `make run`: the server on its embedded default (SQLite + in-memory tickets).
# Unless the arguments name a config (-c/--config), a sandbox payment channel
# (`tongban paysim`, which collects no money) runs beside it on
# 127.0.0.1:8090 with a fresh key, so the demo notice can be paid in the hall
# (/hall/#/pay); it stops with the server. A production config names a real
# channel (docs/configuration.md [payment]).
set -euo pipefail

BIN="$1"
shift
for arg in "$@"; do
  case "$arg" in
    -c | --config | --config=*) exec "$BIN" serve "$@" ;;
  esac
done

work="$(mktemp -d)"
key="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
"$BIN" paysim --key "$key" --bind 127.0.0.1 --port 8090 >"$work/paysim.log" 2>&1 &
paysim=$!
trap 'kill "$paysim" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 50); do
  grep -q "paysim listening" "$work/paysim.log" 2>/dev/null && break
  kill -0 "$paysim" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "paysim listening" "$work/paysim.log" 2>/dev/null; then
  echo "run: the sandbox payment channel did not start (port 8090 busy?); paying online is off:" >&2
  cat "$work/paysim.log" >&2 || true
  "$BIN" serve "$@"
  exit $?
fi
cat >"$work/demo.toml" <<TOML
[payment]
channel = "sandbox"
sandbox = true
channel_url = "http://127.0.0.1:8090"
channel_key = "$key"
TOML
echo "run: sandbox payment channel (tongban paysim) on http://127.0.0.1:8090 — it collects no money"
"$BIN" serve --config "$work/demo.toml" "$@"
