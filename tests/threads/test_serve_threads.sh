#!/usr/bin/env bash
# vfiokit serve --threads: the default machine served from two threads,
# clients on devices of both at once, every stop signal, the cap.
# Usage: test_serve_threads.sh VFIOKIT_BINARY
# In the ThreadSanitizer build a race makes serve exit 66, not 0.
set -uo pipefail
vfiokit=$1
work=$(mktemp -d /tmp/vfk-threads-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

devices="gpu0 gpu0-nvlink0 gpu0-nvlink1 gpu1 gpu1-nvlink0 gpu1-nvlink1"

wait_sockets() {
	for _ in $(seq 200); do
		local all=1
		for d in $devices; do [ -S "$1/$d.sock" ] || all=0; done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
	return 1
}

# serve --threads N in dir $1 (the rest: options), output in $1.out/.err.
start() {
	local dir=$1; shift
	"$vfiokit" serve --dir "$dir" "$@" >"$dir.out" 2>"$dir.err" &
	serve_pid=$!
	pids+=("$serve_pid")
}

# Stop with signal $2; it exits 0 and leaves no socket behind.
stop_with() {
	local dir=$1 sig=$2
	kill "-$sig" "$serve_pid"
	wait "$serve_pid"
	check "serve --threads exits 0 on SIG$sig" test $? -eq 0
	check "SIG$sig: every socket removed" test -z "$(ls "$dir")"
	check "SIG$sig: no sanitizer report" fails_grep ThreadSanitizer "$dir.err"
}
fails_grep() { ! grep -q "$1" "$2"; }

# One client per device at once (round-robin: gpu0 on thread 0, gpu1 on
# thread 1), each writing and reading GPU RAM or reading the device's info.
clients_at_once() {
	local dir=$1 cpids=() rc=0
	for g in gpu0 gpu1; do
		"$vfiokit" mem --via region "$dir/$g.sock" 9 write 0x1000 0x1122334455667788 \
			>"$dir-$g.mem" 2>&1 &
		cpids+=($!)
	done
	for d in gpu0-nvlink0 gpu0-nvlink1 gpu1-nvlink0 gpu1-nvlink1; do
		"$vfiokit" info "$dir/$d.sock" >/dev/null 2>&1 &
		cpids+=($!)
	done
	for p in "${cpids[@]}"; do wait "$p" || rc=1; done
	grep -q 0x1122334455667788 "$dir-gpu0.mem" && grep -q 0x1122334455667788 "$dir-gpu1.mem" \
		&& return $rc
}

start "$work/a" --threads 2
check "serve --threads 2 opens every socket" wait_sockets "$work/a"
check "serve says how many threads" grep -q "^Serving 6 devices from 2 threads" "$work/a.out"
for i in 1 2 3 4 5; do
	check "clients of both threads at once ($i)" clients_at_once "$work/a"
done
quiet() { "$@" >/dev/null 2>&1; }
check "topology across both threads" \
	quiet "$vfiokit" topology "$work/a/gpu0.sock" "$work/a/gpu0-nvlink0.sock" "$work/a/gpu0-nvlink1.sock"
stop_with "$work/a" TERM

start "$work/b" --threads 2
check "serve --threads 2 again" wait_sockets "$work/b"
clients_at_once "$work/b" >/dev/null
stop_with "$work/b" INT

# Each thread's server polls on its own (--poll-us), then sleeps.
start "$work/p" --threads 2 --poll-us 500
check "serve --threads 2 --poll-us 500" wait_sockets "$work/p"
for i in 1 2 3; do
	check "polling: clients of both threads at once ($i)" clients_at_once "$work/p"
done
stop_with "$work/p" TERM

start "$work/c" --threads 9
check "serve --threads 9 with 6 devices" wait_sockets "$work/c"
check "capped to the devices: one thread each" grep -q "^Serving 6 devices from 6 threads" \
	"$work/c.out"
check "the cap is noted" grep -q "warning: --threads 9: 6 devices, as many threads" "$work/c.err"
stop_with "$work/c" HUP

"$vfiokit" serve --threads 0 --dir "$work/d" >/dev/null 2>&1
check "--threads 0 exits 2" test $? -eq 2
"$vfiokit" serve --threads two --dir "$work/d" >/dev/null 2>&1
check "--threads two exits 2" test $? -eq 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
