#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh --all), then the
# extension's typecheck, unit tests and package, then the Python tests (grammar,
# checker, formatter, runtime, language server, headless Neovim and VS Code end
# to end). One line per stage; tool output goes to .logs/test.log.
# Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"
export OPENPROSE_LOG="$LOG_DIR/test.log"
LOG="$OPENPROSE_LOG"
mkdir -p "$LOG_DIR"
: >"$LOG"
log_start "test.sh $*"
say "Test run; tool output in ${LOG#"$REPO"/}"

scripts/setup.sh --all
export PATH="$VENV/bin:$REPO/.tools/bin:$PATH:$HOME/.cargo/bin"

stage "VS Code extension: typecheck, unit tests, .vsix" \
  bash -c 'cd vscode-extension && npm run --silent typecheck && npm test --silent && npm run --silent package'

# Editor end-to-end tests fail (instead of skipping) when their tools are missing.
export OPENPROSE_E2E_REQUIRE=1
start=$SECONDS
printf '\n----- pytest %s\n' "$*" >>"$LOG"
set +e
"$VPY" -m pytest "$@" >>"$LOG" 2>&1
status=$?
set -e
closing="$(grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$LOG" | tail -1)"
summary="$(printf '%s' "$closing" | sed -E 's/^=+ //; s/ =+$//')"
if [ "$status" -eq 0 ]; then
  printf '%s✓%s Python test suite %s(%ss)%s\n' "$GREEN" "$RESET" "$DIM" "$((SECONDS - start))" "$RESET"
  printf '%s\n' "$closing"  # pytest's own closing line, last, for whoever reads the result
  exit 0
fi
if [ "$status" -eq 5 ]; then
  printf '%s✗%s Python test suite: pytest collected no tests, which is a failure here\n' "$RED" "$RESET" >&2
  exit 1
fi
printf '%s✗%s Python test suite: %s (exit %s)\n' "$RED" "$RESET" "${summary:-no summary}" "$status"
# The short summary pytest prints (-ra): which tests failed and why, in one line each.
sed -n '/short test summary info/,$p' "$LOG" | grep -E '^(FAILED|ERROR)' | sed 's/^/    /' | head -50
echo "    full output: ${LOG#"$REPO"/}"
exit "$status"
