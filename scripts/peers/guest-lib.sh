# shellcheck shell=sh
# Helpers for guest test scripts (busybox sh); mkinitrd.sh puts this file at
# /lib/peer.sh in every initramfs: start a test.sh with `. /lib/peer.sh`.

fail() { echo "PEER-FAIL $*"; exit 1; }

# find_pci VENDOR:DEVICE (e.g. 0x8086:0x10d3): the first match's address
find_pci() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

# group_of BDF: the device's IOMMU group number
group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# bind_vfio_pci BDF: hand the device to vfio-pci; prints /dev/vfio/GROUP
bind_vfio_pci() {
	dev=/sys/bus/pci/devices/$1
	[ -e "$dev/iommu_group" ] || fail "$1 has no IOMMU group (intel_iommu=on?)"
	[ -e "$dev/driver" ] && echo "$1" >"$dev/driver/unbind"
	echo vfio-pci >"$dev/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	drv=$(basename "$(readlink "$dev/driver")")
	[ "$drv" = vfio-pci ] || fail "$1 bound to '$drv', not vfio-pci"
	[ -c "/dev/vfio/$(group_of "$1")" ] || fail "no /dev/vfio/$(group_of "$1")"
	echo "/dev/vfio/$(group_of "$1")"
}
