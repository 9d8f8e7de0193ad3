#!/usr/bin/env bash
# Builds the web apps into their dist/ directories, which tongban serves:
#   web/admin    → /sso/admin/  (the admin console)
#   web/approval → /approval/   (the approval staff workbench)
#   web/hall     → /hall/       (the public service hall, with the payer's pages)
#   web/payment  → /payment/    (the payment staff console)
# They import web/shared (the staff shell, transport, checks, terms) as @shared.
#   web/catalogue → /catalogue/ (the catalogue and sharing pages)
# Idempotent: an app's npm packages are installed only when its node_modules is
# missing or older than its package-lock.json, so it works offline once they
# are installed. Prints one line saying what is wrong on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APPS=(admin approval hall payment catalogue)

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

# Runs a command quietly in the current directory; on failure shows its output.
quietly() {
  local what="$1"
  shift
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    fail "$what"
  fi
  rm -f "$log"
}

for app in "${APPS[@]}"; do
  cd "$ROOT/web/$app"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    quietly "npm ci failed in web/$app (see above; the first install needs the npm registry)" \
      npm ci --no-audit --no-fund --loglevel=error
    touch node_modules  # npm ci may keep the directory's old time
  fi
  quietly "vite build of web/$app failed (see above)" npm run build
  echo "build-web: web/$app/dist is up to date"
done
