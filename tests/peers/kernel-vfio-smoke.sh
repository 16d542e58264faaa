#!/usr/bin/env bash
# Real peer: the Linux kernel's own VFIO. Host QEMU 7.2 boots Debian's cloud
# kernel on q35 with a vIOMMU and e1000e, nvme and edu devices; the guest
# binds the e1000e to vfio-pci and checks its group node appears.
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"

TIMEOUT=${PEERS_BOOT_TIMEOUT:-120}

# setup scripts print "SKIP: ..." and exit 77 when peers cannot run here
setup() {
	local rc=0
	"$@" || rc=$?
	[ "$rc" = 0 ] && return 0
	[ "$rc" = "$PEERS_SKIP" ] && exit "$PEERS_SKIP"
	die "$* failed ($rc)"
}

write_guest_test() {
	cat >"$1" <<'GUEST'
. /lib/peer.sh
for id in 0x8086:0x10d3 0x1b36:0x0010 0x1234:0x11e8; do
	bdf=$(find_pci "$id") || fail "no PCI device $id"
	[ -e "/sys/bus/pci/devices/$bdf/iommu_group" ] || fail "$bdf has no IOMMU group"
	echo "PEER-INFO $id at $bdf group $(group_of "$bdf")"
done
bdf=$(find_pci 0x8086:0x10d3)
node=$(bind_vfio_pci "$bdf") || exit 1
[ -c /dev/vfio/vfio ] || fail "no /dev/vfio/vfio"
echo "PEER-OK e1000e $bdf vfio-pci $node up $(cut -d' ' -f1 /proc/uptime)s"
GUEST
}

main() {
	local tmp t0 wall
	require_host
	setup "$PEERS/setup-qemu.sh" --host-only
	setup "$PEERS/setup-guest.sh"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$tmp/test.sh:/test.sh"
	truncate -s 16M "$tmp/nvme.img"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" \
		--initrd "$tmp/initrd.cpio.gz" --timeout "$TIMEOUT" \
		--append "intel_iommu=on" -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device e1000e \
		-drive "file=$tmp/nvme.img,if=none,format=raw,id=nv0" \
		-device nvme,drive=nv0,serial=vfiokit0 \
		-device edu || log "QEMU exited with $?"
	wall=$(since "$t0")
	grep '^PEER-' "$tmp/serial.log" >&2 || true
	if ! grep -q '^PEER-OK ' "$tmp/serial.log" ||
		! grep -q '^PEER-TEST-EXIT 0' "$tmp/serial.log"; then
		tail -n 40 "$tmp/serial.log" >&2
		echo "FAIL: kernel-vfio-smoke (${wall}s)"
		exit 1
	fi
	echo "PASS: kernel-vfio-smoke: guest boot to power-off ${wall}s"
}

main "$@"
