#!/usr/bin/env bash
# Real peer, issue 14 tests 1, 2, 3 and 6: `vfiokit proxy` on devices bound
# to the Linux kernel's vfio-pci, in the host QEMU 7.2 guest of
# kernel-vfio-info.sh (q35, intel-iommu, e1000e, nvme, edu).
#  1. `vfiokit info --json` through the proxy against the device itself,
#     region by region and cap by cap, with and without a subdriver;
#  2. `vfiokit selftest edu` on the proxy's socket: a memfd mapped by the
#     proxy into the IOMMU, edu's DMA both ways, MSI on an eventfd;
#  3. edu's identification register read through a mapping of BAR0 that
#     the proxy handed out, with no REGION_READ reaching the proxy, and
#     through region I/O (which does reach it) as the control;
#  6. clients killed at random points of the edu round trip, the proxy
#     killed with a client attached, targets not bound to vfio-pci and
#     busy: fds and mappings counted in /proc, the device opened again.
# The guest prints "J: D|P|X DEVICE JSON" and "G: ..." lines;
# scripts/peers/check-kernel-proxy.py judges them.
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

write_guest_test() {
	cat >"$1" <<'GUEST'
. /lib/peer.sh
. /lib/proxy.sh
dmesg -n 1
e1000e=$(find_pci 0x8086:0x10d3) || fail "no e1000e"
nvme=$(find_pci 0x1b36:0x0010) || fail "no nvme"
edu=$(find_pci 0x1234:0x11e8) || fail "no edu"

# 6c: a device bound to another driver (nvme, before it goes to vfio-pci)
refused unbound "$nvme"

# 1: info through the proxy against the device's own
# (guest-lib.sh's bind_vfio_pci sets $dev: the loop's name is $name)
for name in e1000e nvme edu; do
	eval bdf=\$$name
	bind_vfio_pci "$bdf" >/dev/null || exit 1
	vfiokit info "$bdf" --json | sed "s/^/J: D $name /"
	start_proxy /tmp/proxy-$name.log "$bdf"
	vfiokit info $S --json | sed "s/^/J: P $name /"
	stop_proxy
done
start_proxy /tmp/proxy-x.log "$edu" --subdriver example-region,size=8192
vfiokit info $S --json | sed "s/^/J: X edu /"
stop_proxy

# 3, direct: the register through the kernel's own mapping
vfiokit selftest edu "$edu" | sed 's/^/G: direct /'

start_proxy /tmp/proxy.log "$edu"
# 6c: the device busy (the proxy has it)
refused busy "$edu"
# 2 and 3: selftest edu reads the id through a mapping of BAR0, then
# copies; the proxy's debug log must show no REGION_READ at offset 0
vfiokit selftest edu $S | sed 's/^/G: /'
echo "G: id reads by message: $(reads)"
# the control: by region I/O, the read is a message
vfiokit mem --via region $S 0 read 0 | sed 's/^/G: /'
echo "G: id reads by message after region I/O: $(reads)"

# 6a: clients killed mid-way; the proxy's fds and mappings as before
fds0=$(fd_count $PROXY)
# at fixed delays (kills anywhere: VERSION, region info, the copies) ...
for t in 0 0.02 0.05 0.1 0.2 0.3 0.5; do
	vfiokit selftest edu $S >/dev/null 2>&1 &
	c=$!
	sleep $t
	kill -9 $c 2>/dev/null
	wait $c 2>/dev/null
done
# ... and as soon as the proxy logged the client's DMA_MAP: mid-DMA
m0=$(dma_count MAP) u0=$(dma_count UNMAP) seen=0
for round in 1 2 3 4 5; do
	n=$(dma_count MAP)
	vfiokit selftest edu $S >/dev/null 2>&1 &
	c=$!
	i=0
	while [ "$(dma_count MAP)" = "$n" ] && [ $i -lt 500 ]; do
		i=$((i + 1))
		sleep 0.01
	done
	# the control: the proxy maps the client's memfd while it is mapped
	[ "$(grep -c selftest-edu /proc/$PROXY/maps)" -gt 0 ] && seen=$((seen + 1))
	kill -9 $c 2>/dev/null
	wait $c 2>/dev/null
done
sleep 0.5
echo "G: killed after DMA_MAP: maps $(($(dma_count MAP) - m0)) unmapped by the client $(($(dma_count UNMAP) - u0)) memory seen mapped $seen"
echo "G: IOMMU maps $(iommu_count MAP) unmaps $(iommu_count UNMAP)"
echo "G: killed clients: fds $(($(fd_count $PROXY) - fds0)) client-memory $(grep -c selftest-edu /proc/$PROXY/maps)"
vfiokit selftest edu $S | sed 's/^/G: after kills: /'

# 6b: the proxy killed with a client attached (the control: while it
# runs, the count sees its fds)
echo "G: proxy running: vfio fds $(vfio_fds)"
vfiokit selftest edu $S >/dev/null 2>&1 &
c=$!
sleep 0.1
kill -9 $PROXY
wait $PROXY 2>/dev/null
wait $c 2>/dev/null
echo "G: proxy killed: vfio fds left $(vfio_fds)"
rm -f $S
vfiokit selftest edu "$edu" | sed 's/^/G: proxy killed: direct /'
GUEST
}

# Helpers for the guest script: /lib/proxy.sh.
write_guest_lib() {
	cat >"$1" <<'LIB'
S=/tmp/proxy.sock
wait_sock() {
	i=0
	while [ ! -S "$1" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# start_proxy LOG TARGET [ARGS...]: the proxy at debug level, on $S
start_proxy() {
	log=$1
	shift
	vfiokit proxy "$@" --socket $S -vv >/dev/null 2>"$log" &
	PROXY=$!
	wait_sock $S || fail "proxy $* made no socket: $(cat "$log")"
}
stop_proxy() {
	kill $PROXY
	wait $PROXY
	[ -e $S ] && fail "the proxy left $S behind"
	return 0
}
# refused NAME TARGET: the proxy exits 1 with one line, leaves no socket
refused() {
	vfiokit proxy "$2" --socket /tmp/refused.sock >/dev/null 2>/tmp/refused.err
	rc=$?
	echo "G: refused $1: exit $rc lines $(wc -l </tmp/refused.err) socket $([ -e /tmp/refused.sock ] && echo left || echo none)"
	sed "s/^/G: refused $1 says: /" /tmp/refused.err
}
reads() { grep -c 'REGION_READ region 0 offset 0 ' /tmp/proxy.log; }
fd_count() { ls /proc/$1/fd | wc -l; }
# DMA_MAP or DMA_UNMAP requests of clients the proxy's server logged
dma_count() {
	case $1 in
	MAP) grep -c ': DMA_MAP iova .* fd ' /tmp/proxy.log ;;
	UNMAP) grep -c ': DMA_UNMAP iova .* flags ' /tmp/proxy.log ;;
	esac
}
# type1 maps and unmaps the proxy made in the kernel and that succeeded
iommu_count() { grep -c ": DMA_$1 iova .* to .*: 0\$" /tmp/proxy.log; }
# fds on /dev/vfio in any process
vfio_fds() { ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c '/dev/vfio\|vfio-device'; }
LIB
}

main() {
	local t0
	peers_begin --host-only
	write_guest_test "$tmp/test.sh"
	write_guest_lib "$tmp/proxy.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh" \
		"$tmp/proxy.sh:/lib/proxy.sh"
	truncate -s 16M "$tmp/nvme.img"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" \
		--initrd "$tmp/initrd.cpio.gz" --timeout "${PEERS_BOOT_TIMEOUT:-180}" \
		--append "intel_iommu=on" -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device e1000e \
		-drive "file=$tmp/nvme.img,if=none,format=raw,id=nv0" \
		-device nvme,drive=nv0,serial=vfiokit0 \
		-device edu 2>"$tmp/qemu.err" || log "QEMU exited with $?"
	log "guest run took $(since "$t0")s"
	[ -n "${PEERS_DUMP:-}" ] && tr -d '\r' <"$tmp/serial.log" | grep -E '^(G|J): ' >&2
	grep -q '^PEER-TEST-EXIT 0' <(tr -d '\r' <"$tmp/serial.log") || {
		tail -n 40 "$tmp/serial.log" >&2
		die "the guest test did not exit 0"
	}
	tr -d '\r' <"$tmp/serial.log" | python3 "$PEERS/check-kernel-proxy.py" ||
		die "the proxy's answers differ from the kernel's"
	echo "PASS: kernel-proxy: info, selftest edu, BAR mapping, kills and bad targets through vfiokit proxy"
}

main "$@"
