# shellcheck shell=bash
# Helpers for tests/peers/*.sh: source after lib.sh. Each test keeps its
# files in $tmp (made by peers_begin, removed at exit).

# setup SCRIPT ARGS...: run a setup script; its "cannot run here" (77)
# skips the test, any other failure fails it.
setup() {
	local rc=0
	"$@" || rc=$?
	[ "$rc" = 0 ] && return 0
	[ "$rc" = "$PEERS_SKIP" ] && exit "$PEERS_SKIP"
	die "$* failed ($rc)"
}

# peers_begin [--host-only]: preconditions, setup, the static vfiokit in
# $VFIOKIT, a fresh $tmp, and a kill of the server (if any) at exit.
peers_begin() {
	require_host
	setup "$PEERS_LIB_DIR/setup-qemu.sh" "$@"
	setup "$PEERS_LIB_DIR/setup-guest.sh"
	VFIOKIT=$("$PEERS_LIB_DIR/build-static.sh")
	tmp=$(mktemp -d)
	SERVER_PID=
	trap 'peers_end' EXIT
}

peers_end() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	for pid in ${RECORDER_PIDS:-}; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
	[ -n "${PEERS_KEEP:-}" ] && log "kept $tmp" || rm -rf "$tmp"
}

# start_server MACHINE.json: `vfiokit serve --config` at debug level into
# $tmp/server.log; waits for every socket the machine names.
# With VFK_RECORD_DIR set, the server listens on SOCK.real and
# vfio-user-recorder.py sits on each SOCK between QEMU and it, writing the
# session as fuzz seeds to $VFK_RECORD_DIR/TEST-SOCK-N.* (docs/robustness.md).
start_server() {
	local sock config=$1 socks
	socks=$(grep -o '"socket": *"[^"]*"' "$1" | sed 's/.*"\([^"]*\)"$/\1/')
	if [ -n "${VFK_RECORD_DIR:-}" ]; then
		config="$tmp/machine-recorded.json"
		sed 's/\("socket": *"[^"]*\)"/\1.real"/' "$1" >"$config"
	fi
	"$VFIOKIT" serve --config "$config" -vv >"$tmp/server.out" 2>"$tmp/server.log" &
	SERVER_PID=$!
	for sock in $socks; do
		wait_socket "$tmp/$sock${VFK_RECORD_DIR:+.real}" "the server did not create $sock"
		[ -n "${VFK_RECORD_DIR:-}" ] && start_recorder "$sock"
	done
	return 0
}

# wait_socket PATH MESSAGE: wait up to 5 s for a unix socket
wait_socket() {
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	die "$2"
}

start_recorder() {
	local dir
	dir=$(mkdir -p "$VFK_RECORD_DIR" && cd "$VFK_RECORD_DIR" && pwd)
	python3 "$PEERS_LIB_DIR/vfio-user-recorder.py" record "$tmp/$1" "$tmp/$1.real" \
		"$dir/$(basename "$0" .sh)-${1%.sock}" &
	RECORDER_PIDS="${RECORDER_PIDS:-} $!"
	wait_socket "$tmp/$1" "the recorder did not create $1"
}

stop_server() {
	local pid
	kill "$SERVER_PID" && wait "$SERVER_PID" || true
	SERVER_PID=
	for pid in ${RECORDER_PIDS:-}; do kill "$pid" && wait "$pid" || true; done
	RECORDER_PIDS=
}

# vfio_user_dev SOCKET ADDR: the -device argument for a vfio-user device at slot ADDR
vfio_user_dev() {
	printf '{"driver":"vfio-user-pci","socket":{"path":"%s","type":"unix"},"addr":"%s"}' "$1" "$2"
}

# guest_lines SERIAL: the guest's "G: " lines, without the prefix and CR
guest_lines() { tr -d '\r' <"$1" | sed -n 's/^G: //p'; }

# expect_lines NAME SERIAL EXPECTED: the guest's lines must equal EXPECTED
# line by line; else show the difference and the end of the console.
expect_lines() {
	if ! diff -u <(printf '%s\n' "$3") <(guest_lines "$2") >"$tmp/diff"; then
		cat "$tmp/diff" >&2
		tail -n 30 "$2" >&2
		die "$1: the guest's output differs from the expected lines"
	fi
	grep -q '^PEER-TEST-EXIT 0' <(tr -d '\r' <"$2") || die "$1: the guest test did not exit 0"
}

# count PATTERN FILE: lines of FILE matching the extended regex PATTERN
count() { grep -cE -- "$1" "$2" || true; }
