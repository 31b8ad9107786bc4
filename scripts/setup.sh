#!/usr/bin/env bash
# Installs what the project needs, idempotently, and never into the global Python:
#
#   scripts/setup.sh          the runtime into .venv/ (enough for `prose` and the demo)
#   scripts/setup.sh --all    everything the full test suite needs, one line per stage
#
# Where things go (README, "Prerequisites and where things go", says how to remove them):
#   .venv/                         Python packages (runtime; with --all also the test tools)
#   .tools/                        the Tree-sitter CLI, only if the pinned one is not installed already
#   vscode-extension/node_modules  the extension's npm packages (npm ci, skipped when the lockfile is unchanged)
#   ~/.cache/openprose-e2e         Node 24 and code-server for the VS Code end-to-end test ($OPENPROSE_E2E_CACHE)
#   system (apt, as root only)     gcc, neovim, chromium, libkrb5-dev, make, g++
# Tool output goes to .logs/setup.log.
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"

MODE=runtime
case "${1:-}" in
  "") ;;
  --all) MODE=all ;;
  *) die "usage: scripts/setup.sh [--all]" ;;
esac
log_start "setup.sh $*"

ensure_venv
if [ "$MODE" = runtime ]; then
  install_python runtime
  exit 0
fi

# ------------------------------------------------------------------ --all
if [ -f "$VENV/.openprose-dev" ] && [ "$(cat "$VENV/.openprose-dev")" = "$(python_stamp)" ]; then
  skipped "Python packages in .venv/" "up to date"
else
  stage "Python packages in .venv/ (runtime and test tools)" \
    "$VPY" -m pip install --disable-pip-version-check -e '.[dev]'
  python_stamp >"$VENV/.openprose-dev"
fi

# The pinned Tree-sitter CLI: an installed one at that version, else built into .tools/.
export PATH="$REPO/.tools/bin:$PATH:$HOME/.cargo/bin"
if tree-sitter --version 2>/dev/null | grep -q " $TREE_SITTER_CLI_VERSION"; then
  skipped "Tree-sitter CLI $TREE_SITTER_CLI_VERSION" "found: $(command -v tree-sitter)"
else
  command -v cargo >/dev/null || die "the Tree-sitter CLI $TREE_SITTER_CLI_VERSION is needed, and cargo (Rust) to build it"
  stage "Tree-sitter CLI $TREE_SITTER_CLI_VERSION built into .tools/ (cargo, several minutes)" \
    env CARGO_HOME="$REPO/.tools/cargo" cargo install --locked --root "$REPO/.tools" "tree-sitter-cli@$TREE_SITTER_CLI_VERSION"
fi

# System packages the editor tests use: a C compiler, Debian's Neovim 0.7, Chromium for code-server.
missing=()
command -v cc >/dev/null || missing+=(gcc)
[ -x /usr/bin/nvim ] || missing+=(neovim)
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -eq 0 ]; then
  skipped "System packages" "present: gcc, neovim, chromium, libkrb5-dev, make, g++"
elif [ "$(id -u)" = 0 ]; then
  stage "System packages (apt-get install --no-install-recommends ${missing[*]})" \
    bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' \
    apt "${missing[@]}"
else
  printf '%s!%s System packages missing: %s (sudo apt-get install --no-install-recommends %s)\n' \
    "$RED" "$RESET" "${missing[*]}" "${missing[*]}"
fi

# npm ci only when the lockfile changed since the last install.
lock_hash() { sha256sum "$1/package-lock.json" | cut -d' ' -f1; }
if [ -f vscode-extension/node_modules/.openprose-lock ] \
  && [ "$(cat vscode-extension/node_modules/.openprose-lock)" = "$(lock_hash vscode-extension)" ]; then
  skipped "VS Code extension npm packages" "lockfile unchanged, npm ci skipped"
else
  stage "VS Code extension npm packages (npm ci)" \
    bash -c 'cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error'
  lock_hash vscode-extension >vscode-extension/node_modules/.openprose-lock
fi

if [ -x tests/e2e/vscode/setup.sh ]; then
  stage "VS Code end-to-end tools (Node 24, code-server in ${E2E_CACHE/#$HOME/\~})" tests/e2e/vscode/setup.sh
fi
