#!/usr/bin/env bash
# The main job: install the Python parts, then run an example program on the
# offline simulated backend with live progress. Extra arguments go to `prose run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec prose run examples/launch-review.prose --backend simulated --simulated-delay 0.4 \
  --input product="a command-line tool for checking .prose programs" "$@"
