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

# Daimo's published SDK for the tests that drive it against the relayer, in its own lock
# (tests/daimo/package-lock.json), since the SDK drags in ~700 packages the tools above don't need;
# then the DaimoFrame host page's bundle, rebuilt when the lock or its sources change.
daimo="$root/tests/daimo"
want_daimo="$(sha256sum "$daimo/package-lock.json" | cut -d' ' -f1)"
want_frame="$(cat "$daimo/package-lock.json" "$daimo/build.mjs" "$daimo/frame/host.js" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$daimo/node_modules/.tools-stamp" 2>/dev/null)" != "$want_daimo" ] ||
   [ "$(cat "$daimo/dist/.build-stamp" 2>/dev/null)" != "$want_frame" ]; then
  exec 6>"$root/.tools-daimo.lock"
  flock 6
  if [ "$(cat "$daimo/node_modules/.tools-stamp" 2>/dev/null)" != "$want_daimo" ]; then
    echo "installing Daimo's SDK for the tests (npm ci in tests/daimo)..." >&2
    # --ignore-scripts: the tree has third-party install scripts (wallet SDKs, native addons) that
    # nothing we run needs; esbuild and TypeScript work without theirs.
    (cd "$daimo" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    echo "$want_daimo" > "$daimo/node_modules/.tools-stamp"
  fi
  if [ "$(cat "$daimo/dist/.build-stamp" 2>/dev/null)" != "$want_frame" ]; then
    echo "bundling the DaimoFrame host page (tests/daimo/dist)..." >&2
    node "$daimo/build.mjs" >&2
    echo "$want_frame" > "$daimo/dist/.build-stamp"
  fi
fi

# Python tools from PyPI, each in its own virtualenv `.venv/$1` with every package pinned in `$2`;
# reinstalled only when that file changes.
pip_pinned() {
  local venv="$root/.venv/$1" requirements="$2" want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  [ "$(cat "$venv/.tools-stamp" 2>/dev/null)" = "$want" ] && return 0
  exec 8>"$root/.tools-py.lock"
  flock 8
  if [ "$(cat "$venv/.tools-stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing pinned Python tools ($1)..." >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements" >&2
    echo "$want" > "$venv/.tools-stamp"
  fi
  exec 8>&-
}
# The API fuzzer (schemathesis).
pip_pinned api-fuzz scripts/api-fuzz-requirements.txt
# A KMS-compatible server (moto's, started by tests/kms-server.py with one fix) for the remote-signer tests.
pip_pinned kms scripts/kms-requirements.txt

# Installs a Debian package when `$1` (a shell test) says it is missing: `$2` at the pinned version `$3`
# (with the packages after it), or, since Debian's security archive keeps only its newest build, the
# current build when the pinned one is gone (said so). policy-rc.d keeps a package from starting a
# service of its own while it installs (PostgreSQL's cluster, Prometheus).
apt_pinned() {
  local present="$1" package="$2" pin="$3"
  shift 3
  eval "$present" && return 0
  exec 7>"$root/.tools-apt.lock"
  flock 7
  eval "$present" && return 0
  local sudo="" policy=/usr/sbin/policy-rc.d created=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing $package $pin (apt)..." >&2
  if [ ! -e "$policy" ]; then
    created=1
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    # Expanded now: the trap runs after this function's locals are gone.
    trap "$sudo rm -f '$policy'" EXIT
  fi
  local apt="$sudo env DEBIAN_FRONTEND=noninteractive apt-get"
  $apt update -qq >&2
  if ! $apt install -y -qq --no-install-recommends "$package=$pin" "$@" >&2; then
    echo "$package $pin is no longer in Debian's archive; installing its current build" >&2
    $apt install -y -qq --no-install-recommends "$package" "$@" >&2
  fi
  if [ -n "$created" ]; then
    $sudo rm -f "$policy"
    trap - EXIT
  fi
}

# Headless Chromium for the checkout page's browser tests.
apt_pinned '[ -x /usr/bin/chromium ]' chromium "148.0.7778.167-1~deb12u1" fonts-dejavu-core

# PostgreSQL's server binaries for the PostgreSQL store's tests (each test starts its own server with
# initdb into a temporary directory; see relayer/store/src/local_postgres.rs) and `relayer devnet
# --store postgres`.
apt_pinned 'ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1' \
  postgresql-15 "15.18-0+deb12u1"

# promtool (in Debian's prometheus package), which checks and unit-tests the alerting rules in
# ops/prometheus.
apt_pinned 'command -v promtool >/dev/null 2>&1' prometheus "2.42.0+ds-5+deb12u1"
