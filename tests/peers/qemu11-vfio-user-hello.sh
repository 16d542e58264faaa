#!/usr/bin/env bash
# Real peer: QEMU 11's vfio-user-pci client, run from the trixie chroot with
# memfd-backed guest RAM. A throwaway listener answers VERSION, checks what
# QEMU sends next (DMA_MAP of guest RAM, with its memfd), then hangs up; QEMU then fails to add the device, which is
# expected. Proves the QEMU 11 plumbing (chroot, shared socket path, memfd)
# that the vfiokit server tests build on.
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"

setup() {
	local rc=0
	"$@" || rc=$?
	[ "$rc" = 0 ] && return 0
	[ "$rc" = "$PEERS_SKIP" ] && exit "$PEERS_SKIP"
	die "$* failed ($rc)"
}

write_listener() {
	cat >"$1" <<'PY'
import json, socket, struct, sys

HDR = struct.Struct("=HHIII")  # msg_id, command, msg_size, flags, error

def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        part = c.recv(n - len(buf))
        if not part:
            sys.exit("peer closed mid-message")
        buf += part
    return buf

# a stream socket may merge messages: read the header, then msg_size - 16
def recv_msg(c):
    data, anc, _, _ = c.recvmsg(HDR.size, socket.CMSG_SPACE(16 * 4))
    fds = [fd for lvl, typ, raw in anc if lvl == socket.SOL_SOCKET
           and typ == socket.SCM_RIGHTS
           for fd in struct.unpack(f"={len(raw) // 4}i", raw[:len(raw) // 4 * 4])]
    data += recv_exact(c, HDR.size - len(data)) if data else sys.exit("EOF")
    mid, cmd, size, flags, err = HDR.unpack(data)
    if size < HDR.size or size > 1 << 20:
        sys.exit(f"bad msg_size {size}")
    return mid, cmd, flags, recv_exact(c, size - HDR.size), fds

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen(1)
srv.settimeout(float(sys.argv[2]))
c, _ = srv.accept()
c.settimeout(10)
mid, cmd, flags, body, _ = recv_msg(c)
if cmd != 1 or flags & 0xF != 0:
    sys.exit(f"first message is command {cmd} flags {flags:#x}, not VERSION")
major, minor = struct.unpack_from("=HH", body)
caps = json.loads(body[4:].rstrip(b"\0"))["capabilities"]
print(f"VERSION {major}.{minor} {json.dumps(caps, sort_keys=True)}")
reply = struct.pack("=HH", 0, 0) + b'{"capabilities":{}}\0'
c.sendall(HDR.pack(mid, 1, HDR.size + len(reply), 1, 0) + reply)
mid, cmd, flags, body, fds = recv_msg(c)
print(f"NEXT command {cmd} flags {flags:#x} {len(body)} bytes {len(fds)} fds")
c.close()
PY
}

main() {
	local tmp out
	require_host
	command -v python3 >/dev/null || skip "no python3 for the listener"
	setup "$PEERS/setup-qemu.sh"
	setup "$PEERS/setup-guest.sh"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	write_listener "$tmp/listener.py"
	python3 "$tmp/listener.py" "$tmp/dev.sock" 30 >"$tmp/listener.out" &
	local pid=$!
	for _ in $(seq 50); do [ -S "$tmp/dev.sock" ] && break; sleep 0.1; done
	"$PEERS/run-qemu.sh" boot qemu11 --log "$tmp/serial.log" --timeout 30 \
		--memfd --share "$tmp" -- -machine q35 \
		-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"path\":\"$tmp/dev.sock\",\"type\":\"unix\"}}" \
		2>"$tmp/qemu.err" || true
	wait "$pid" || { cat "$tmp/qemu.err" >&2; die "listener failed"; }
	out=$(cat "$tmp/listener.out")
	printf '%s\n' "$out" >&2
	grep -q '^VERSION 0\.0 .*"max_msg_fds": 16' <<<"$out" || die "no VERSION from QEMU"
	# with memfd RAM, QEMU maps guest memory before DEVICE_GET_INFO
	grep -q '^NEXT command 2 .* 1 fds$' <<<"$out" || die "no DMA_MAP with an fd"
	echo "PASS: qemu11-vfio-user-hello: $("$PEERS/run-qemu.sh" qemu11 --version | head -n1)"
}

main "$@"
