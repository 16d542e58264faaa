#!/usr/bin/env bash
# Errors that tell the truth (README.md, "Exit status"): one line, the
# command and the target once, the cause in words; 2 for a region, offset
# or width the device lacks, 1 for a server that stops answering or
# closes the connection after VERSION.
# Usage: test_errors.sh VFIOKIT_BINARY
set -uo pipefail
vfiokit=$1
work=$(mktemp -d /tmp/vfk-errors-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

# run ARGS...: $err and $rc of one vfiokit run.
run() {
	"$vfiokit" "$@" >/dev/null 2>"$work/err"
	rc=$?
	err=$(cat "$work/err")
}

# refused NAME STATUS LINE ARGS...: exit STATUS, stderr exactly LINE.
refused() {
	local name=$1 status=$2 line=$3
	shift 3
	run "$@"
	check "$name: exit $status" test "$rc" -eq "$status"
	check "$name: says why in one line" test "$err" = "$line"
}

wait_socket() {
	for _ in $(seq 400); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

cd "$work"
"$vfiokit" serve dmaengine --socket d.sock >/dev/null 2>&1 &
pids+=($!)
check "dmaengine serves" wait_socket d.sock

refused "offset past the end" 2 \
	"vfiokit mem: d.sock: region 0: offset 0x1000 is past the end of a 0x1000 region (8 bytes from it needed)" \
	mem d.sock 0 read 0x1000
refused "the last 4 bytes" 2 \
	"vfiokit mem: d.sock: region 0: offset 0xffc is past the end of a 0x1000 region (8 bytes from it needed)" \
	mem d.sock 0 read 0xffc
refused "no such region" 2 "vfiokit mem: d.sock: no region 42 (the device has 9)" \
	mem d.sock 42 read 0
refused "an empty region" 2 "vfiokit mem: d.sock: region 5 is empty (size 0)" mem d.sock 5 read 0
refused "a region not mappable" 2 \
	"vfiokit mem: d.sock: region 0 not mappable (try --via region)" mem --via mmap d.sock 0 read 0
refused "a width the register does not take" 2 \
	"vfiokit mem: d.sock: region 0 offset 0x4: the device refused an 8-byte access here (width or alignment not supported by this register)" \
	mem d.sock 0 read 4
refused "a bad operation" 2 "vfiokit mem: access peek: expected OFFSET[.B|.W|.L|.Q][=VALUE]" \
	mem d.sock 0 peek 0
refused "a bad OFFSET" 2 \
	"vfiokit mem: OFFSET 1Q: expected a number from 0 to 2^64-1 (0x, K/M/G/T)" mem d.sock 0 read 1Q
refused "info: no such region" 2 "vfiokit info: d.sock: no region 42 (the device has 9)" \
	info --region 42 d.sock
refused "no such socket: the target once" 1 "vfiokit mem: nosuch.sock: no such socket" \
	mem nosuch.sock 0 read 0
for check_name in dma edu; do
	refused "selftest $check_name: the target once" 1 \
		"vfiokit selftest $check_name: nosuch.sock: no such socket" selftest "$check_name" nosuch.sock
done
refused "selftest bar-rw: the file once" 1 \
	"vfiokit selftest bar-rw: nosuch: No such file or directory" selftest bar-rw nosuch 0 1
# bar-rw writes through a mapping: only into a PCI BAR in sysfs.
printf 'precious data\n' >"$work/file"
cp "$work/file" "$work/file.orig"
refused "selftest bar-rw: a regular file" 2 \
	"vfiokit selftest bar-rw: $work/file: not a PCI BAR in sysfs (/sys/bus/pci/devices/*/resourceN); nothing written" \
	selftest bar-rw "$work/file" 0 0x41414141
check "selftest bar-rw: the regular file is left as it was" cmp -s "$work/file" "$work/file.orig"
mkdir -p "$work/dev"
ln -s "$work/file" "$work/dev/resource0"
refused "selftest bar-rw: a link named resource0 to a regular file" 2 \
	"vfiokit selftest bar-rw: $work/dev/resource0: not a PCI BAR in sysfs (/sys/bus/pci/devices/*/resourceN); nothing written" \
	selftest bar-rw "$work/dev/resource0" 0 0x41414141
check "selftest bar-rw: ...still left as it was" cmp -s "$work/file" "$work/file.orig"
pci=$(find /sys/bus/pci/devices/ -mindepth 1 -maxdepth 1 2>/dev/null | head -n 1)
if [ -n "$pci" ] && [ -e "$pci/config" ]; then
	refused "selftest bar-rw: a PCI device's config file is no BAR" 2 \
		"vfiokit selftest bar-rw: $pci/config: not a PCI BAR in sysfs (/sys/bus/pci/devices/*/resourceN); nothing written" \
		selftest bar-rw "$pci/config" 0 0
fi
refused "selftest bar-rw: another sysfs file" 2 \
	"vfiokit selftest bar-rw: /sys/kernel/uevent_seqnum: not a PCI BAR in sysfs (/sys/bus/pci/devices/*/resourceN); nothing written" \
	selftest bar-rw /sys/kernel/uevent_seqnum 0 0
for check_name in dma edu; do
	refused "selftest $check_name: a regular file is no VFIO target" 1 \
		"vfiokit selftest $check_name: $work/file is not a socket, a PCI address or /dev/vfio/N" \
		selftest "$check_name" "$work/file"
done
check "selftest dma, edu: the regular file is left as it was" cmp -s "$work/file" "$work/file.orig"
refused "selftest bar-rw: OFFSET not 4-byte aligned" 2 \
	"vfiokit selftest bar-rw: OFFSET 0x2: expected a multiple of 4" selftest bar-rw "$work/file" 2 0
check "a sound access still works" grep -q "^read region 0" <("$vfiokit" mem d.sock 0 read 0)

# A server that answers VERSION, then closes (close) or is silent (hang).
fake() {
	python3 - "$1" "$2" <<'PY' &
import socket, struct, sys, time
path, mode = sys.argv[1:3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
while True:
    c, _ = s.accept()
    hdr = c.recv(16)
    mid, cmd, size, flags, err = struct.unpack("<HHIII", hdr)
    c.recv(size - 16)
    body = struct.pack("<HH", 0, 0) + b"{}\0"
    c.sendall(struct.pack("<HHIII", mid, cmd, 16 + len(body), 1, 0) + body)
    if mode == "hang":
        time.sleep(30)
    c.close()
PY
	pids+=($!)
	wait_socket "$1"
}
fake close.sock close
fake hang.sock hang
refused "a server that closes" 1 "vfiokit info: close.sock: server closed the connection" \
	info close.sock
refused "a server that closes, mem" 1 "vfiokit mem: close.sock: server closed the connection" \
	mem close.sock 0 read 0
refused "a server that closes, topology" 1 \
	"vfiokit topology: close.sock: server closed the connection" topology close.sock
refused "a server that does not answer" 1 \
	"vfiokit info: hang.sock: server not answering within 300 ms" info --timeout 300 hang.sock
cd - >/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
