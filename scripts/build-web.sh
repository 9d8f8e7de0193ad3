#!/usr/bin/env bash
# Builds the admin web console (web/admin) into web/admin/dist, which tongban
# serves at /sso/admin/. Idempotent: installs the npm packages only when
# node_modules is missing or older than package-lock.json, so it works offline
# once they are installed. Prints one line saying what is wrong on failure.
set -euo pipefail

WEB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../web/admin" && pwd)"

fail() {
  echo "build-web: $*" >&2
  exit 1
}

NEEDS="Node.js 20.19+ and npm"
command -v node >/dev/null 2>&1 || fail "node is not installed; run 'make deps' ($NEEDS)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed; run 'make deps' ($NEEDS)"
# Vite 8 needs Node.js 20.19 or newer.
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
         process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1)' ||
  fail "node $(node --version) is too old; run 'make deps' ($NEEDS)"

cd "$WEB_DIR"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  LOG="$(mktemp)"
  if ! npm ci --no-audit --no-fund --loglevel=error >"$LOG" 2>&1; then
    cat "$LOG" >&2
    rm -f "$LOG"
    fail "npm ci failed in web/admin (see above; the first install needs the npm registry)"
  fi
  rm -f "$LOG"
  touch node_modules  # npm ci may keep the directory's old time
fi

LOG="$(mktemp)"
if ! npm run build >"$LOG" 2>&1; then
  cat "$LOG" >&2
  rm -f "$LOG"
  fail "vite build of web/admin failed (see above)"
fi
rm -f "$LOG"
echo "build-web: web/admin/dist is up to date"
