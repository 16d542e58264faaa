#!/usr/bin/env bash
# check-examples.sh BUILD SOURCE: examples/ built outside the tree, only
# against the installed library, then run and inspected (issue 13 item 6).
#
# 1. `meson install --destdir` of BUILD into a temporary root;
# 2. examples/ copied out of the tree and each built with plain
#    `cc $(pkg-config --cflags --libs libvfiokit)` (PKG_CONFIG_SYSROOT_DIR
#    points pkg-config's paths into the staged root), and with the
#    examples' own Makefile;
# 3. each device served on a socket in the temporary dir, inspected with
#    the installed `vfiokit info --json` / `vfiokit mem`, driven by the
#    example driver ring-client, and stopped with SIGINT or SIGTERM.
# Prints "ok N - ..." / "FAIL N - ..." lines and "N passed, N failed";
# exits 1 on a failure, 77 (skip) for a sanitizer build, whose library
# needs the sanitizer runtime that a plain cc build does not bring.
set -uo pipefail

build=$(cd "${1:?usage: check-examples.sh BUILD SOURCE}" && pwd)
src=$(cd "${2:?usage: check-examples.sh BUILD SOURCE}" && pwd)
pass=0
fail=0
n=0
pids=()
tmp=

# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "FAIL $n - $1"; }
# check DESC CMD...: one test line for a command's success; its output
# goes to the log only when it fails.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

sanitize=$(meson introspect --buildoptions "$build" | python3 -c \
	'import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["b_sanitize"])')
# "none", or an empty list where a newer meson makes the option an array
if [ "$sanitize" != none ] && [ "$sanitize" != "[]" ]; then
	echo "SKIP: a -Db_sanitize=$sanitize build: its libvfiokit needs the sanitizer runtime"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfk-examples.XXXXXX")
root=$tmp/root

# ---- 1. install ---------------------------------------------------------
if ! meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
	not_ok "meson install --destdir"
	sed 's/^/# /' "$tmp/install.log"
	finish
fi
ok "meson install --destdir into a temporary root"

pc=$(find "$root" -name libvfiokit.pc | head -n 1)
lib=$(find "$root" -name 'libvfiokit.so' | head -n 1)
cli=$(find "$root" -path '*/bin/vfiokit' -type f | head -n 1)
if [ -z "$pc" ] || [ -z "$lib" ] || [ -z "$cli" ]; then
	not_ok "installed libvfiokit.pc, libvfiokit.so and vfiokit (found: '$pc' '$lib' '$cli')"
	finish
fi
# The staged .pc names the real prefix; the sysroot makes its -I and -L
# point into the staged root, as when cross-building against a sysroot.
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
LD_LIBRARY_PATH=$(dirname "$lib")
export PKG_CONFIG_PATH LD_LIBRARY_PATH PKG_CONFIG_SYSROOT_DIR=$root
cflags=$(pkg-config --cflags libvfiokit)
libs=$(pkg-config --libs libvfiokit)
case " $cflags " in
*" -I$root/"*) ok "pkg-config libvfiokit: $cflags $libs" ;;
*) not_ok "pkg-config libvfiokit points into the staged root: $cflags" && finish ;;
esac

# ---- 2. build outside the tree -----------------------------------------
mkdir -p "$tmp/src" "$tmp/bin"
cp "$src"/examples/*.c "$src"/examples/*.h "$src"/examples/Makefile "$tmp/src/"
warn=(-std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -O2)
for ex in vendor-region ring-device ring-client; do
	# shellcheck disable=SC2086 # pkg-config's words, split on purpose
	check "cc $ex.c \$(pkg-config --cflags --libs libvfiokit)" \
		cc "${warn[@]}" -o "$tmp/bin/$ex" "$tmp/src/$ex.c" $cflags $libs
done
check "examples/Makefile builds all" make -s -C "$tmp/src"
for ex in vendor-region ring-device ring-client; do
	[ -x "$tmp/bin/$ex" ] || { not_ok "$ex was not built"; finish; }
done
check "the examples run with the staged libvfiokit.so" \
	sh -c "ldd '$tmp/bin/ring-device' | grep -F -q '$root/'"

# start NAME SOCKET [ARGS...]: serve in the background, wait for the
# socket; the pid in $server. Its stdin is $START_STDIN (or /dev/null).
start() {
	local name=$1 sock=$2
	shift 2
	"$tmp/bin/$name" "$sock" "$@" <"${START_STDIN:-/dev/null}" >"$tmp/$name.out" \
		2>"$tmp/$name.err" &
	server=$!
	pids+=("$server")
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$server" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/# /' "$tmp/$name.err"
	return 1
}

# stop PID SIGNAL SOCKET DESC: the signal ends the server cleanly (exit 0)
# and its socket file goes with it.
stop() {
	local pid=$1 sig=$2 sock=$3 rc=0 p left=()
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid" || rc=$?
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || left+=("$p"); done
	pids=("${left[@]}")
	if [ "$rc" = 0 ] && [ ! -e "$sock" ]; then
		ok "$4: SIG$sig stops it (exit 0, socket removed)"
	else
		not_ok "$4: SIG$sig: exit $rc, socket $([ -e "$sock" ] && echo left || echo removed)"
	fi
}

# ---- 3a. vendor-region -----------------------------------------------------
cat >"$tmp/check_vr.py" <<'PY'
import json, struct, sys
info, writes = json.load(open(sys.argv[1])), int(sys.argv[2])
pci = info["pci"]
assert (pci["vendor_id"], pci["device_id"]) == (0x1af4, 0x10f1), pci
regs = {r["index"]: r for r in info["regions"]}
assert info["device"]["num_regions"] == 10, info["device"]
assert regs[0]["size"] == 0x1000 and regs[0]["flag_names"] == ["READ", "WRITE"], regs[0]
r = regs[9]
assert r["size"] == 0x1000 and r["flag_names"] == ["READ", "WRITE", "CAPS"], r
assert r["caps_error"] is None and len(r["caps"]) == 2, r["caps"]
t, v = r["caps"]
assert t["name"] == "TYPE" and t["status"] == "ok", t
assert (t["type"], t["subtype"]) == (0x80001AF4, 1), t
assert (v["id"], v["version"], v["status"], v["next"]) == (0xF001, 1, "unknown-id", 0), v
body = bytes.fromhex(v["raw"])[8:]
magic, layout, _, nwrites, page = struct.unpack("<IHHII", body)
assert (magic, layout, page) == (0x50414358, 1, 0x1000), body.hex()
assert nwrites == writes, f"writes {nwrites}, expected {writes}"
PY

if start vendor-region "$tmp/vr.sock"; then
	ok "vendor-region serves on a socket"
	check "vendor-region: info --json: region 9 with TYPE and its own cap (0 writes)" \
		sh -c "'$cli' info '$tmp/vr.sock' --json >'$tmp/vr0.json' && \
			python3 '$tmp/check_vr.py' '$tmp/vr0.json' 0"
	check "vendor-region: the info page reads its greeting (region I/O on region 9)" \
		sh -c "'$cli' mem '$tmp/vr.sock' 9 read 0 | grep -qi ': 0x2074696b6f696676$'"
	# Each `vfiokit mem` is a client of its own, and one leaving resets
	# the device: the write is taken, and the next client finds the
	# power-on page, as no tenant may see the last one's data.
	check "vendor-region: a write to region 9 is taken; the next client finds the page reset" \
		sh -c "'$cli' mem '$tmp/vr.sock' 9 write 0x100 0x1122334455667788 >/dev/null && \
			'$cli' mem '$tmp/vr.sock' 9 read 0x100 | grep -qi ': 0x0*$'"
	stop "$server" INT "$tmp/vr.sock" vendor-region
else
	not_ok "vendor-region serves on a socket"
fi

# ---- 3b. ring-device ---------------------------------------------------------
cat >"$tmp/check_ring.py" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
pci = info["pci"]
assert (pci["vendor_id"], pci["device_id"]) == (0x1af4, 0x10f2), pci
regs = {r["index"]: r for r in info["regions"]}
assert regs[0]["size"] == 0x1000 and regs[2]["size"] == 0x1000, regs
irqs = {i["index"]: i for i in info["irqs"]}
assert irqs[2]["name"] == "MSI-X" and irqs[2]["count"] == 1, irqs[2]
assert irqs[0]["count"] == 0 and irqs[1]["count"] == 0, irqs
assert any(c["name"] == "MSI-X" for c in pci["capabilities"]), pci["capabilities"]
PY

if start ring-device "$tmp/ring.sock"; then
	ok "ring-device (timer) serves on a socket"
	check "ring-device: info --json: BAR0, BAR2, one MSI-X vector" \
		sh -c "'$cli' info '$tmp/ring.sock' --json >'$tmp/ring.json' && \
			python3 '$tmp/check_ring.py' '$tmp/ring.json'"
	check "ring-client, memfd ring: 64 timer records by DMA, MSI-X eventfd fired" \
		sh -c "timeout 30 '$tmp/bin/ring-client' '$tmp/ring.sock' --records 64 >'$tmp/c1.out' && \
			grep -E '^ring-client: 64 records ok, [1-9][0-9]* interrupts' '$tmp/c1.out'"
	check "ring-client, fd-less ring (DMA_WRITE messages): 64 records, MSI-X, unmap while running stops the device" \
		sh -c "timeout 30 '$tmp/bin/ring-client' '$tmp/ring.sock' --no-fd --unmap-running >'$tmp/c2.out' && \
			grep -E '^ring-client: 64 records ok, [1-9][0-9]* interrupts' '$tmp/c2.out' && \
			grep -F 'unmapped while running: device stopped (Bad address)' '$tmp/c2.out'"
	check "ring-device logged no warning or error" \
		sh -c "! grep -Ei 'warn|error' '$tmp/ring-device.err'"
	stop "$server" TERM "$tmp/ring.sock" "ring-device (timer)"
else
	not_ok "ring-device (timer) serves on a socket"
fi

# Data from outside on an fd: 5000 bytes through a pipe, back out of the
# ring in order (90 records, the 16-slot ring refilled as the driver
# frees slots: nothing may be lost).
# A FIFO, as the device watches its stdin with epoll (a regular file
# cannot be watched: always ready).
seq 1 1100 | head -c 5000 >"$tmp/input"
mkfifo "$tmp/fifo"
cat "$tmp/input" >"$tmp/fifo" &
pids+=("$!")
if START_STDIN=$tmp/fifo start ring-device "$tmp/ring2.sock" --stdin; then
	ok "ring-device --stdin serves on a socket"
	check "ring-client --dump: the 5000 bytes of stdin arrive in order" \
		sh -c "timeout 30 '$tmp/bin/ring-client' '$tmp/ring2.sock' --dump >'$tmp/dump' 2>'$tmp/c3.err' && \
			cmp '$tmp/input' '$tmp/dump' && grep -E ', 0 dropped' '$tmp/c3.err'"
	stop "$server" INT "$tmp/ring2.sock" "ring-device --stdin"
else
	not_ok "ring-device --stdin serves on a socket"
fi

finish
