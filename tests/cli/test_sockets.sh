#!/usr/bin/env bash
# vfiokit serve's sockets and a busy device, end to end (docs/robustness.md,
# "Tenants"): a live server's path refused, a stale socket replaced, a
# replaced one left alone, SIGHUP, socket mode and group for a client of
# another user, duplicate sockets in a machine file, and "device busy" from
# info, mem and topology.
# Usage: test_sockets.sh VFIOKIT_BINARY
set -uo pipefail
vfiokit=$1
work=$(mktemp -d /tmp/vfk-sockets-XXXXXX)
chmod 0711 "$work"   # another user's client must reach the sockets
. "$(dirname "$0")/../shell_checks.sh"

# Wait (up to 20 s: valgrind is slow to start) until FILE has TEXT.
wait_for() {
	for _ in $(seq 400); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# serve NAME SOCK [ARGS]: a dmaengine on SOCK; its pid in $serve_pid, once it serves.
serve() {
	local name=$1 sock=$2
	shift 2
	"$vfiokit" serve dmaengine --socket "$sock" "$@" >"$work/$name.out" 2>"$work/$name.err" &
	serve_pid=$!
	pids+=("$serve_pid")
	wait_for "$work/$name.out" "^Serving"
}

# stop PID SIGNAL: the server's exit status.
stop() {
	kill "-$2" "$1"
	wait "$1"
}

inode() { stat -c %i "$1"; }
answers() { "$vfiokit" info "$1" >/dev/null 2>&1; }

check "serve --help shows --socket-mode" grep -q -- "--socket-mode OCTAL" <("$vfiokit" serve --help)
check "serve --help shows --socket-group" grep -q -- "--socket-group NAME|GID" <("$vfiokit" serve --help)

# --- a live server's path is refused, the first server undisturbed
sock=$work/a.sock
check "first server serves" serve first "$sock"
first=$serve_pid
ino=$(inode "$sock")
# Bounded: a server that took the path over would serve on and on.
timeout 20 "$vfiokit" serve dmaengine --socket "$sock" -q >"$work/second.out" 2>"$work/second.err"
check "a second server on the path exits 1" test $? -eq 1
check "it says so in one line" test "$(cat "$work/second.err")" = \
	"vfiokit serve: $sock: another server is listening there"
check "the first server's socket is untouched" test "$(inode "$sock")" = "$ino"
check "the first server still answers" answers "$sock"

# --- a busy device: info, mem and topology say so
python3 - "$sock" >"$work/hold.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("attached", flush=True)
time.sleep(60)
PY
holder=$!
pids+=("$holder")
wait_for "$work/hold.out" attached
for cmd in "info $sock" "mem $sock 0 read 0" "topology $sock"; do
	"$vfiokit" $cmd >/dev/null 2>"$work/busy.err"
	check "${cmd%% *} on a busy device exits 1" test $? -eq 1
	check "${cmd%% *} says the device is busy" \
		grep -qx "vfiokit ${cmd%% *}: $sock: device busy: another client is attached" "$work/busy.err"
done
kill -KILL "$holder"
wait "$holder" 2>/dev/null
check "once the client is gone, the next one is served" answers "$sock"

# --- SIGHUP: a clean exit, socket removed
check "serve exits 0 on SIGHUP" stop "$first" HUP
check "SIGHUP removes the socket" test ! -e "$sock"

# --- a stale socket file (its server killed) is replaced
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$work/stale.sock"
check "a stale socket is replaced" serve stale "$work/stale.sock"
check "the replacing server answers" answers "$work/stale.sock"
check "it exits 0 on SIGTERM" stop "$serve_pid" TERM
check "and removes its socket" test ! -e "$work/stale.sock"

# --- a server whose path was taken over leaves the new socket alone
sock=$work/c.sock
serve old "$sock"
old=$serve_pid
rm "$sock"
check "a new server takes the freed path" serve new "$sock"
new=$serve_pid
check "the old server exits 0" stop "$old" TERM
check "the new server's socket is still there" test -S "$sock"
check "the new server still answers" answers "$sock"
stop "$new" TERM
check "the new server removes its own socket" test ! -e "$sock"

# --- socket mode and group
sock=$work/p.sock
serve perm "$sock"
check "default mode 0600" test "$(stat -c %a "$sock")" = 600
if [ "$(id -u)" = 0 ]; then
	# info as uid/gid 54321 (no account), with the setpriv group option given.
	as_other() { setpriv --reuid=54321 --regid=54321 "$1" "$vfiokit" info "$sock" >/dev/null; }
	as_other --clear-groups 2>"$work/perm.err"
	check "another user is refused by default" grep -q "permission denied" "$work/perm.err"
fi
stop "$serve_pid" TERM
serve perm "$sock" --socket-mode 0666
check "--socket-mode 0666" test "$(stat -c %a "$sock")" = 666
if [ "$(id -u)" = 0 ]; then
	check "another user connects to 0666" as_other --clear-groups
fi
stop "$serve_pid" TERM
serve perm "$sock" --socket-group 54322
check "--socket-group: group set" test "$(stat -c %g "$sock")" = 54322
check "--socket-group: mode 0660" test "$(stat -c %a "$sock")" = 660
if [ "$(id -u)" = 0 ]; then
	check "a member of the group connects" as_other --groups=54322
	as_other --clear-groups 2>"$work/perm.err"
	check "a non-member is refused" grep -q "permission denied" "$work/perm.err"
fi
stop "$serve_pid" TERM
serve perm "$sock" --socket-group "$(id -gn)" --socket-mode 0640
check "--socket-group by name, --socket-mode kept" \
	test "$(stat -c '%a %G' "$sock")" = "640 $(id -gn)"
stop "$serve_pid" TERM
# A machine file may give them; an option overrides the file.
cat >"$work/perm.json" <<'JSON'
{ "devices": [ { "model": "dmaengine", "socket": "pf.sock" } ],
  "socket_mode": "0604", "socket_group": "54323" }
JSON
"$vfiokit" serve --config "$work/perm.json" >"$work/pf.out" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_for "$work/pf.out" "^Serving"
check "socket_mode and socket_group from the machine file" \
	test "$(stat -c '%a %g' "$work/pf.sock")" = "604 54323"
stop "$serve_pid" TERM
"$vfiokit" serve --config "$work/perm.json" --socket-mode 0640 >"$work/pf.out" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_for "$work/pf.out" "^Serving"
check "--socket-mode overrides the file" test "$(stat -c %a "$work/pf.sock")" = 640
stop "$serve_pid" TERM
# A directory serve makes for its sockets lets the sockets' users through.
"$vfiokit" serve --dir "$work/m" --socket-mode 0666 >"$work/m.out" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_for "$work/m.out" "^Serving"
check "--dir made with search permission for others" test "$(stat -c %a "$work/m")" = 711
if [ "$(id -u)" = 0 ]; then
	sock=$work/m/gpu0.sock
	check "another user reaches a socket in it" as_other --clear-groups
fi
stop "$serve_pid" TERM
sock=$work/p.sock
check "a bad --socket-mode is refused" fails "$vfiokit" serve dmaengine --socket "$sock" \
	--socket-mode 999 2>/dev/null
check "an unknown --socket-group is refused" fails "$vfiokit" serve dmaengine --socket "$sock" \
	--socket-group no-such-group-here 2>/dev/null

# --- a machine file with two devices on one socket
cat >"$work/dup.json" <<'JSON'
{ "devices": [ { "model": "dmaengine", "socket": "d.sock" },
               { "model": "dmaengine", "socket": "d.sock" } ] }
JSON
timeout 20 "$vfiokit" serve --config "$work/dup.json" >/dev/null 2>"$work/dup.err"
check "two devices on one socket: exit 2 (bad input)" test $? -eq 2
check "the error names the file and the socket" \
	grep -q "$work/dup.json:2:16: devices 0 and 1 have the same socket $work/d.sock" "$work/dup.err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
