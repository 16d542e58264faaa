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

# setup scripts exit 77 when the machine cannot run peers at all
setup() {
	local rc=0 out
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = 0 ] && return 0
	printf '%s\n' "$out" >&2
	[ "$rc" = "$PEERS_SKIP" ] && skip "$(printf '%s\n' "$out" | sed -n 's/^SKIP: //p' | head -n1)"
	die "$* failed ($rc)"
}

write_guest_test() {
	cat >"$1" <<'GUEST'
fail() { echo "PEER-FAIL $*"; exit 1; }

# find_pci VENDOR:DEVICE: the first matching device's address
find_pci() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

for id in 0x8086:0x10d3 0x1b36:0x0010 0x1234:0x11e8; do
	bdf=$(find_pci "$id") || fail "no PCI device $id"
	[ -e "/sys/bus/pci/devices/$bdf/iommu_group" ] || fail "$bdf has no IOMMU group"
	echo "PEER-INFO $id at $bdf group $(group_of "$bdf")"
done

dev=/sys/bus/pci/devices/$(find_pci 0x8086:0x10d3)
bdf=$(basename "$dev")
[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
echo vfio-pci >"$dev/driver_override"
echo "$bdf" >/sys/bus/pci/drivers_probe
drv=$(basename "$(readlink "$dev/driver")")
[ "$drv" = vfio-pci ] || fail "$bdf bound to '$drv', not vfio-pci"
grp=$(group_of "$bdf")
[ -c "/dev/vfio/$grp" ] || fail "no /dev/vfio/$grp"
[ -c /dev/vfio/vfio ] || fail "no /dev/vfio/vfio"
echo "PEER-OK e1000e $bdf vfio-pci /dev/vfio/$grp up $(cut -d' ' -f1 /proc/uptime)s"
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
