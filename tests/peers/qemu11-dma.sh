#!/usr/bin/env bash
# Real peer, issue 6 test 2: interrupts and DMA through QEMU 11. The
# dmaengine model behind vfio-user-pci, q35 with a vIOMMU; the guest binds
# it to its vfio-pci and `vfiokit selftest dma` (client API, kernel
# backend) maps a buffer (type1), programs copies and waits for the
# interrupt on an eventfd (MSI-X, MSI, INTx). Twice: memfd share=on guest RAM (the server gets
# DMA_MAP with fds and copies itself) and plain guest RAM (no fds: every
# byte moves in DMA_READ/DMA_WRITE messages, which only works because the
# model defers its DMA until QEMU has the doorbell's reply).
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

DEV=0000:00:04.0
EXPECTED="0x1234:0x10d0 bound vfio-pci
selftest: dma irq=msix copied 4096 bytes ok
selftest: dma irq=msi copied 4096 bytes ok
selftest: dma irq=intx copied 4096 bytes ok
selftest: dma irq=msi copied 65536 bytes ok"

write_guest_test() {
	cat >"$1" <<GUEST
. /lib/peer.sh
d=/sys/bus/pci/devices/$DEV
[ -e \$d ] || fail "no device at $DEV"
[ -n "${PEERS_UNSAFE_IRQ:-}" ] && echo 1 >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
node=\$(bind_vfio_pci $DEV) || exit 1
echo "G: \$(cat \$d/vendor):\$(cat \$d/device) bound vfio-pci"
for irq in msix msi intx; do vfiokit selftest dma $DEV --irq \$irq | sed 's/^/G: /'; done
vfiokit selftest dma $DEV --irq msi --len 65536 | sed 's/^/G: /'
GUEST
}

# run_boot NAME [--memfd]: one guest run against a fresh server
run_boot() {
	local name=$1 t0 rc=0 fds msgs
	shift
	start_server "$tmp/machine.json"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot qemu11 --log "$tmp/$name.log" --initrd "$tmp/initrd.cpio.gz" \
		"$@" --share "$tmp" --timeout "${PEERS_BOOT_TIMEOUT:-180}" \
		--append intel_iommu=on -- \
		-machine q35,kernel-irqchip=split \
		-device "${PEERS_IOMMU:-intel-iommu,intremap=on,caching-mode=on}" \
		-device "$(vfio_user_dev "$tmp/dma.sock" 4)" ${PEERS_QEMU_EXTRA:-} 2>"$tmp/qemu.err" || rc=$?
	log "$name: guest run took $(since "$t0")s (QEMU exit $rc)"
	stop_server
	cp "$tmp/server.log" "$tmp/$name-server.log"
	[ -n "${PEERS_DUMP:-}" ] && guest_lines "$tmp/$name.log" >&2
	expect_lines "qemu11-dma ($name)" "$tmp/$name.log" "$EXPECTED"
	fds=$(count 'DMA_MAP .* fd yes: 0$' "$tmp/server.log")
	log "$name: DMA_MAP with fd $fds, without $(count 'DMA_MAP .* fd no: 0$' "$tmp/server.log")"
	msgs=$(count ': DMA_(READ|WRITE) iova .*: 0$' "$tmp/server.log")
	log "$name: $msgs DMA_READ/DMA_WRITE messages answered"
	if grep -E '^vfiokit: (error|warning):' "$tmp/server.log" >&2; then die "$name: the server logged errors"; fi
	grep -E ': DMA_(READ|WRITE) iova .*: -' "$tmp/server.log" >&2 &&
		die "$name: QEMU refused DMA_READ/DMA_WRITE messages"
	# The vIOMMU guest unmaps ranges never mapped: answered as type1 does
	# (success, nothing unmapped), QEMU has no error to print.
	grep -i 'dma_unmap' "$tmp/qemu.err" "$tmp/$name.log" >&2 &&
		die "$name: QEMU printed DMA unmap errors"
	echo "$fds $msgs"
}

main() {
	local fds msgs
	peers_begin
	printf '{ "devices": [ { "name": "dma", "model": "dmaengine", "socket": "dma.sock" } ] }\n' \
		>"$tmp/machine.json"
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh"
	read -r fds msgs < <(run_boot memfd --memfd)
	[ "$fds" -ge 1 ] || die "memfd run: QEMU sent no DMA_MAP with an fd"
	[ "$msgs" = 0 ] || die "memfd run: the server used $msgs DMA messages"
	# 3 x 4096 + 65536 bytes, each read and written in 4 KiB messages
	read -r fds msgs < <(run_boot plain)
	[ "$fds" = 0 ] || die "plain run: QEMU sent $fds DMA_MAP with fds"
	[ "$msgs" -ge 38 ] || die "plain run: only $msgs DMA messages for 76 KiB of copies"
	echo "PASS: qemu11-dma: memfd and plain guest RAM"
}

main "$@"
