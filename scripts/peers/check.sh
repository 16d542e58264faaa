#!/usr/bin/env bash
# check.sh BUILD: the peer stage of `make check`. Runs run-all.sh and
# records its output as a meson-style testlog (BUILD/meson-logs/
# testlog-peers.json) whose "peers: N passed, N failed, N skipped" line
# scripts/test-summary.py adds to the summed result.
set -uo pipefail
build=${1:-build}
here=$(dirname "$0")
mkdir -p "$build/meson-logs"
out=$("$here/run-all.sh" 2>&1 | tee /dev/stderr)
rc=${PIPESTATUS[0]}
case $rc in 0) result=OK ;; 77) result=SKIP ;; *) result=FAIL ;; esac
printf '%s' "$out" | python3 -c 'import json, sys
print(json.dumps({"name": "peers", "result": sys.argv[1], "stdout": sys.stdin.read()}))' \
	"$result" >"$build/meson-logs/testlog-peers.json"
exit "$rc"
