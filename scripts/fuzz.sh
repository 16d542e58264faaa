#!/usr/bin/env bash
# Fuzz every libFuzzer target for $FUZZ_SECONDS seconds each (default 20),
# two at a time, in the clang build dir (default build-asan). Each target
# is one meson test of suite fuzz-run: it passes when nothing crashed.
# Results: BUILD_ASAN/meson-logs/testlog.json.
# Usage: fuzz.sh [BUILD_ASAN] [--summary]
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-asan}
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
rm -f "$dir/meson-logs/testlog.json"
if scripts/sanitize-check.sh configure "$dir" && ninja -C "$dir"; then
	meson test -C "$dir" --suite fuzz-run --print-errorlogs --num-processes 2
fi
if [ "${2:-}" = --summary ]; then
	python3 scripts/test-summary.py "$dir/meson-logs/testlog.json"
fi
