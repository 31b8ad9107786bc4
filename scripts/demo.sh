#!/usr/bin/env bash
# The main job: install the runtime into the project's .venv/ (only the first
# time; never into the global Python), then run an example program on the
# offline simulated backend with live progress. Extra arguments go to `prose run`.
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$REPO"
scripts/setup.sh
say "Running examples/launch-review.prose on the simulated backend (no API key, no network)"
exec "$VENV/bin/prose" run examples/launch-review.prose --backend simulated --simulated-delay 0.4 \
  --input product="a command-line tool for checking .prose programs" "$@"
