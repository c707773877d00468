#!/usr/bin/env bash
# Installs the pinned tools (package.json + package-lock.json) into ./node_modules on first use
# and prints nothing else. Safe to call concurrently and repeatedly: a lock serialises installs,
# and a stamp of the lock file's hash skips the install when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp="node_modules/.tools-stamp"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  exec 9>"$root/.tools.lock"
  flock 9
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing pinned tools (npm ci)..." >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" > "$stamp"
  fi
fi
