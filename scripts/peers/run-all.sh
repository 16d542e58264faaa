#!/usr/bin/env bash
# Run every tests/peers/*.sh (or the ones named) and close with the plain
# "peers: N passed, N failed, N skipped" line. Exit 0 when none failed;
# 77 when all were skipped, so a caller can tell "cannot run here".
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

main() {
	local t rc pass=0 fail=0 skipped=0 t0 t1
	t0=$(date +%s.%N)
	[ $# -gt 0 ] || set -- "$REPO_ROOT"/tests/peers/*.sh
	for t in "$@"; do
		t1=$(date +%s.%N)
		rc=0
		"$t" || rc=$?
		case $rc in
		0) pass=$((pass + 1)) ;;
		"$PEERS_SKIP") skipped=$((skipped + 1)) ;;
		*) fail=$((fail + 1)) && echo "FAIL: $(basename "$t") (exit $rc)" ;;
		esac
		log "$(basename "$t"): exit $rc in $(since "$t1")s"
	done
	log "peer stage took $(since "$t0")s"
	echo "peers: $pass passed, $fail failed, $skipped skipped"
	[ "$fail" = 0 ] || return 1
	[ "$pass" = 0 ] && [ "$skipped" -gt 0 ] && return "$PEERS_SKIP"
	return 0
}

main "$@"
