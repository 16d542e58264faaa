#!/bin/sh
# SPDX-License-Identifier: MIT
# Server instructions per 4-byte REGION_READ, reproducible to the
# instruction: `vfiokit serve v100` runs under callgrind twice, driven by
# bench/insn_driver with N and then 11 N reads; the difference of the two
# totals over 10 N reads is the per-request cost, free of start-up and
# shutdown. Prints the per-read count; with KEEP=1 keeps the callgrind
# files (for callgrind_annotate --inclusive=yes) and prints their paths.
#
#   bench/count_insns.sh [BUILD_DIR] [N]      (defaults: build, 1000)
set -eu
build=${1:-build}
n=${2:-1000}
dir=$(mktemp -d)
trap 'rm -f "$dir"/s.sock; [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"' EXIT

total() {   # total() COUNT: the server's instructions for COUNT reads
	out="$dir/callgrind.$1"
	valgrind -q --tool=callgrind --callgrind-out-file="$out" \
		"$build/src/cli/vfiokit" serve v100 --socket "$dir/s.sock" -q >/dev/null &
	pid=$!
	"$build/bench/insn_driver" "$dir/s.sock" "$1"
	sleep 1   # let the server see the end of stream before it is told to stop
	kill -TERM "$pid"
	wait "$pid"
	rm -f "$dir/s.sock"
	sed -n 's/^totals: *//p; s/^summary: *//p' "$out" | head -n 1
}

small=$(total "$n")
large=$(total $((11 * n)))
echo "server instructions per 4-byte REGION_READ: $(( (large - small) / (10 * n) )).$(( (large - small) % (10 * n) * 10 / (10 * n) ))"
if [ "${KEEP:-0}" = 1 ]; then
	echo "callgrind files: $dir/callgrind.$n $dir/callgrind.$((11 * n))"
fi
