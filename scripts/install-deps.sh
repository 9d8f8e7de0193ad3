#!/usr/bin/env bash
# Installs the Debian 12 packages tongban needs to build, run, test and bench.
# Idempotent: installs only what is missing, and does nothing when all is there.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  # libraries
  libboost-dev libboost-system-dev libsoci-dev libsqlite3-dev libpq-dev
  libmariadb-dev libmariadb-dev-compat unixodbc-dev
  nlohmann-json3-dev libpugixml-dev libssl-dev libsodium-dev libhiredis-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libicu-dev
  # approval documents: PDF notices with QR codes, .xlsx workbooks
  libhpdf-dev libqrencode-dev libminizip-dev zlib1g-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-requests python3-zeep sqlite3 wrk bc chromium fonts-wqy-zenhei
  poppler-utils poppler-data faketime
  python3-authlib python3-jwt python3-cryptography python3-pyotp
  # real CAS and OIDC clients for the protocol tests
  apache2 libapache2-mod-auth-cas libapache2-mod-auth-openidc
  # multi-node stores used by the integration tests
  redis-server postgresql
  # MySQL-protocol and ODBC backends (信创 databases): a private MariaDB, and Debian's
  # ODBC drivers for the ODBC runs
  mariadb-server mariadb-client odbc-mariadb odbc-postgresql
)

# The web console is built with Node.js and npm. A machine that already has a
# node (e.g. a newer one than Debian's) keeps it; otherwise Debian's is installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts these services on install; tests start private instances instead.
if command -v systemctl >/dev/null 2>&1; then
  # Best effort: containers often have no systemd, and then nothing was started.
  $SUDO systemctl disable --now redis-server postgresql apache2 mariadb >/dev/null 2>&1 || true
fi
