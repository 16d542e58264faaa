#!/usr/bin/env bash
# Run the meson test suite of a build dir and print the summed result line.
set -uo pipefail
build=${1:-build}
meson test -C "$build" --print-errorlogs --num-processes 2 "${@:2}"
python3 "$(dirname "$0")/test-summary.py" "$build/meson-logs/testlog.json"
