#!/usr/bin/env bash
# Real peer, issue 14 test 4: QEMU 11's vfio-user-pci as the client of
# `vfiokit proxy`, inside the kernel-VFIO guest of kernel-proxy.sh (host
# QEMU 7.2, edu bound to the guest's vfio-pci). QEMU 11 runs in that guest
# with -accel qtest (no CPU to emulate in an emulated CPU): the test speaks
# the qtest protocol on QEMU's stdin, programs edu's BAR0 and the command
# register through config space (ports 0xcf8/0xcfc), and reads edu's
# identification register at the BAR's address. The guest kernel has no
# 9p, so QEMU 11, its libraries and its BIOS come from the trixie chroot
# in the initramfs (docs/peers.md).
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
dmesg -n 1
edu=$(find_pci 0x1234:0x11e8) || fail "no edu"
bind_vfio_pci "$edu" >/dev/null || exit 1
vfiokit proxy "$edu" --socket /tmp/edu.sock -vv >/dev/null 2>/tmp/proxy.log &
i=0
while [ ! -S /tmp/edu.sock ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && fail "the proxy made no socket: $(cat /tmp/proxy.log)"
	sleep 0.05
done
mkfifo /tmp/qin
up() { cut -d' ' -f1 /proc/uptime; }
t0=$(up)
/usr/bin/qemu-system-x86_64 -accel qtest -qtest stdio -machine q35 -nodefaults -display none \
	-monitor none -serial none -m 64M \
	-object memory-backend-memfd,id=m,size=64M,share=on -machine memory-backend=m \
	-device '{"driver":"vfio-user-pci","socket":{"path":"/tmp/edu.sock","type":"unix"},"addr":"4"}' \
	</tmp/qin >/tmp/qout 2>/tmp/qerr &
Q=$!
exec 3>/tmp/qin
# qt COMMAND: one qtest command; QEMU's answer line in $ANS (no subshell,
# so a failure here ends the test)
qt() {
	n=$(wc -l </tmp/qout)
	kill -0 $Q 2>/dev/null || fail "QEMU 11 exited: $(cat /tmp/qerr)"
	echo "$1" >&3
	i=0
	while [ "$(wc -l </tmp/qout)" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 1200 ] && fail "qtest: no answer to '$1' in 60 s: $(cat /tmp/qerr)"
		kill -0 $Q 2>/dev/null || fail "QEMU 11 exited: $(cat /tmp/qerr)"
		sleep 0.05
	done
	ANS=$(sed -n "$((n + 1))p" /tmp/qout)
}
qt 'endianness'
echo "G: qemu11 answers after $(echo "$(up) $t0" | awk '{printf "%.1f", $1 - $2}') s: $ANS"
# config space of 00:04.0 through the PCI configuration mechanism #1
qt 'outl 0xcf8 0x80002000'
qt 'inl 0xcfc'
echo "G: ids $ANS"
qt 'outl 0xcf8 0x80002010'
qt 'outl 0xcfc 0xc0000000'
qt 'inl 0xcfc'
echo "G: bar0 $ANS"
qt 'outl 0xcf8 0x80002004'
qt 'outw 0xcfc 0x0006'
n0=$(grep -c 'REGION_READ region 0 offset 0 ' /tmp/proxy.log)
qt 'readl 0xc0000000'
echo "G: id $ANS"
echo "G: id reads by message $(($(grep -c 'REGION_READ region 0 offset 0 ' /tmp/proxy.log) - n0))"
# QEMU maps its RAM (a memfd: with its fd, into the IOMMU) and its ROMs
# (no fd: refused, each with a log line)
echo "G: dma maps with fd, mapped $(grep -c ': DMA_MAP iova .* fd yes: 0$' /tmp/proxy.log)"
echo "G: dma maps without fd, refused $(grep -c ': DMA_MAP iova .* fd no: -95$' /tmp/proxy.log) logged $(grep -c 'refused: memory without an fd' /tmp/proxy.log)"
exec 3>&-
kill $Q 2>/dev/null
wait $Q 2>/dev/null
sed 's/^/G: qemu11 says: /' /tmp/qerr
GUEST
}

# stage_qemu11 DIR: QEMU 11, the libraries it links (by the chroot's
# ldd), its loader, its qtest module and the BIOS, at their paths, for the initramfs
stage_qemu11() {
	local lib
	mkdir -p "$1/usr/bin" "$1/usr/lib/x86_64-linux-gnu" "$1/lib64" "$1/usr/share/seabios"
	cp -L "$TRIXIE_DIR/usr/bin/qemu-system-x86_64" "$1/usr/bin/"
	for lib in $(chroot "$TRIXIE_DIR" ldd /usr/bin/qemu-system-x86_64 | awk '$3 ~ /^\// { print $3 }'); do
		cp -L "$TRIXIE_DIR$lib" "$1/usr/lib/x86_64-linux-gnu/"
	done
	cp -L "$TRIXIE_DIR/lib64/ld-linux-x86-64.so.2" "$1/lib64/"
	# Debian builds the qtest accelerator as a module
	mkdir -p "$1/usr/lib/x86_64-linux-gnu/qemu"
	cp -L "$TRIXIE_DIR/usr/lib/x86_64-linux-gnu/qemu/accel-qtest.so" "$1/usr/lib/x86_64-linux-gnu/qemu/"
	cp -L "$TRIXIE_DIR/usr/share/seabios/bios-256k.bin" "$1/usr/share/seabios/"
	mkdir -p "$1/usr/share/qemu"
	cp -L "$TRIXIE_DIR/usr/share/qemu/kvmvapic.bin" "$1/usr/share/qemu/"
}

# check_guest SERIAL: what QEMU 11 read and what the proxy saw
check_guest() {
	local g
	g=$(guest_lines "$1")
	grep -qx 'ids OK 0x11e81234' <<<"$g" || die "QEMU 11 did not read edu's ids from config space"
	grep -qx 'bar0 OK 0xc0000000' <<<"$g" || die "BAR0 did not take the address"
	grep -qx 'id OK 0x00000000010000ed' <<<"$g" || die "QEMU 11 did not read edu's id at the BAR"
	grep -qx 'id reads by message 0' <<<"$g" ||
		die "the id read reached the proxy as a message: the BAR was not mapped from the kernel"
	grep -qE '^dma maps with fd, mapped [1-9]' <<<"$g" || die "QEMU 11's memfd RAM was not mapped"
	grep -E '^dma maps without fd' <<<"$g" | awk '{ exit !($6 == $8) }' ||
		die "a refused fd-less DMA_MAP was not logged"
	! grep -E 'qemu11 says: .*(rom: file|rror)' <<<"$g" | grep -v 'command 2 error Operation not supported' ||
		die "QEMU 11 reported errors other than the refused fd-less DMA_MAPs"
}

main() {
	local t0
	peers_begin
	write_guest_test "$tmp/test.sh"
	stage_qemu11 "$tmp/q11"
	log "QEMU 11 for the guest: $(du -sh "$tmp/q11" | cut -f1)"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh" \
		"$tmp/q11/usr:/usr" "$tmp/q11/lib64:/lib64"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" --mem 1G \
		--initrd "$tmp/initrd.cpio.gz" --timeout "${PEERS_BOOT_TIMEOUT:-300}" \
		--append "intel_iommu=on" -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device edu 2>"$tmp/qemu.err" || log "QEMU exited with $?"
	log "guest run took $(since "$t0")s"
	[ -n "${PEERS_DUMP:-}" ] && tr -d '\r' <"$tmp/serial.log" | grep -E '^G: ' >&2
	grep -q '^PEER-TEST-EXIT 0' <(tr -d '\r' <"$tmp/serial.log") || {
		tail -n 40 "$tmp/serial.log" >&2
		die "the guest test did not exit 0"
	}
	check_guest "$tmp/serial.log"
	echo "PASS: kernel-proxy-qemu11: QEMU 11 in the guest read edu's id through vfiokit proxy's BAR mapping"
}

main "$@"
