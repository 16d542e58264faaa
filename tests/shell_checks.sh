# Shared by the shell tests (source it after setting $work to a temp dir):
# ok/fail lines and the closing "N passed, N failed", and at exit every
# process in $pids stopped and $work removed.
pids=()
passed=0 failed=0
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
fails() { ! "$@"; }
