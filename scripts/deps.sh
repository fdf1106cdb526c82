#!/usr/bin/env bash
# deps.sh — install what the build (and, with "test", the tests) need and
# is missing: Debian packages via apt-get, the UI's npm packages via
# `npm ci` from the committed lockfiles. Idempotent and quick when all is
# present, so `make demo` and `make test` can always call it.
set -euo pipefail
mode=${1:-build}
cd "$(dirname "$0")/.."

pkgs=(build-essential pkg-config libzmq3-dev liblz4-dev libsqlite3-dev libcjson-dev libcivetweb-dev)
if [ "$mode" = test ]; then
  pkgs+=(sqlite3 chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v node >/dev/null || { echo "deps: node (20+) and npm are required" >&2; exit 1; }

# npm ci only when the lockfile changed since the last install
npm_ci() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci viz-ui
[ "$mode" = test ] && npm_ci test
exit 0
