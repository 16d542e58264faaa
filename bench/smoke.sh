#!/bin/sh
# Smoke test of one benchmark program: it runs with tiny counts, exits 0
# and prints only well-formed result lines ("R id median p99|- unit").
# Timing is never checked here.
set -eu
prog=$1
out=$("$prog" -n 20 -x 0.0001 -c 0 -s 0)
echo "$out"
[ -n "$out" ] || { echo "smoke: $prog printed no results" >&2; exit 1; }
echo "$out" | awk '
	$1 != "R" || NF != 5 || $3 !~ /^[0-9.e+-]+$/ || ($4 != "-" && $4 !~ /^[0-9.e+-]+$/) {
		print "smoke: malformed line: " $0 > "/dev/stderr"; bad = 1
	}
	END { exit bad }'
