#!/usr/bin/env bash
# The npm dependencies, installed with `npm ci` only when node_modules is not what package.json,
# package-lock.json and this Node ask for: a second `scripts/install.sh` does not reinstall 240
# packages. The stamp is written after a successful install, so an interrupted one runs again.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
stamp=node_modules/.vcs-install-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) node $(node --version)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "install: npm dependencies up to date (node_modules matches package-lock.json)"
  exit 0
fi
npm ci --no-fund --no-audit
echo "$want" >"$stamp"
