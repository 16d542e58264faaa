#!/usr/bin/env bash
# docs/cli-info.md shows `vfiokit info -vv` of the V100 model next to what
# lspci -vv prints for the same config space: both blocks must be what the
# tools print today, not a memory of it.
# Usage: test_info_doc.sh VFIOKIT_BINARY DOC
set -uo pipefail
vfiokit=$1
doc=$2
work=$(mktemp -d /tmp/vfk-info-doc-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

wait_socket() {
	for _ in $(seq 400); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

# block INTRO: the fenced block after the line ending with INTRO.
block() {
	awk -v intro="$1" '
		index($0, intro) && !seen { seen = 1; next }
		seen == 1 && /^```$/ { seen = 2; next }
		seen == 2 && /^```$/ { exit }
		seen == 2 { print }' "$doc"
}

cd "$work"
"$vfiokit" serve v100 --socket v100.sock >/dev/null 2>&1 &
pids+=($!)
check "v100 serves" wait_socket v100.sock
"$vfiokit" info -vv v100.sock >info.txt
block '-vv v100.sock`:' >doc-info.txt
check "the doc's info -vv block is non-trivial" test "$(wc -l <doc-info.txt)" -gt 40
check "the doc's info -vv block is today's output" diff -u doc-info.txt info.txt
"$vfiokit" info -xxx v100.sock >v100.dump
block 'lspci -F v100.dump -vv`:' >doc-lspci.txt
if command -v lspci >/dev/null; then
	lspci -O hwdb.disable=1 -F v100.dump -vv >lspci.txt 2>/dev/null
	# A newer lspci may decode more: every line of the doc's is still there.
	check "the doc's lspci -vv block is what lspci prints for the dump" \
		test -z "$(grep -Fxv -f lspci.txt doc-lspci.txt)"
	check "the doc's lspci -vv block is non-trivial" test "$(wc -l <doc-lspci.txt)" -gt 20
else
	fail "lspci is not installed (scripts/install-deps.sh check)"
fi
cd - >/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
