#!/usr/bin/env bash
# Installs everything the project needs, idempotently: the Python packages (which
# compile the grammar's C sources), the pinned Tree-sitter CLI, the editor test
# dependencies and the VS Code extension's npm packages.
#
#   scripts/setup.sh            Python parts only (enough for `prose` and the demo)
#   scripts/setup.sh --all      everything the full test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TREE_SITTER_CLI_VERSION="0.27.1"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "Python packages (grammar binding, runtime, server, test tools)"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[dev]'
# pyenv only exposes new console scripts (`prose`) through its shims after a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
command -v prose >/dev/null || echo "warning: 'prose' is not on PATH; add $("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH" >&2

[ "${1:-}" = "--all" ] || exit 0

export PATH="$HOME/.cargo/bin:$PATH"
if ! tree-sitter --version 2>/dev/null | grep -q " $TREE_SITTER_CLI_VERSION"; then
  say "Tree-sitter CLI $TREE_SITTER_CLI_VERSION (cargo, a few minutes)"
  cargo install --quiet --locked "tree-sitter-cli@$TREE_SITTER_CLI_VERSION"
fi

missing=()
command -v cc >/dev/null || missing+=(gcc)
[ -x /usr/bin/nvim ] || missing+=(neovim)
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: please install: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  fi
fi

say "VS Code extension npm packages"
(cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error)

if [ -x tests/e2e/vscode/setup.sh ]; then
  say "VS Code end-to-end tools (code-server, Node 24, playwright-core; cached)"
  tests/e2e/vscode/setup.sh
fi
