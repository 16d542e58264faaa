#!/usr/bin/env bash
# Run the meson test suite of a build dir and print the summed result line.
set -uo pipefail
build=${1:-build}
meson test -C "$build" --print-errorlogs --num-processes 2 "${@:2}"
# VFK_EXTRA_TESTLOGS: testlogs of other runs (ASan, valgrind, fuzzing) to sum in.
# shellcheck disable=SC2086
python3 "$(dirname "$0")/test-summary.py" "$build/meson-logs/testlog.json" ${VFK_EXTRA_TESTLOGS:-}
