#!/usr/bin/env bash
# Real peer, issue 6 test 3: the Linux kernel's own vfio-pci read by the
# vfiokit client (kernel backend). Host QEMU 7.2 boots Debian's cloud
# kernel on q35 with a vIOMMU and e1000e, nvme and edu devices; the guest
# binds each to vfio-pci and prints `vfiokit info --json` (and the text
# form's absent-region lines); the host checks what the real kernel
# reported (scripts/peers/check-kernel-info.py). Then `vfiokit selftest
# edu` drives edu's DMA engine and MSI through the guest's vfio-pci (type1
# DMA map, SET_IRQS with an eventfd).
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
# Only emergencies on the console: the JSON lines must not be split.
dmesg -n 1
for id in 0x8086:0x10d3 0x1b36:0x0010 0x1234:0x11e8; do
	bdf=$(find_pci "$id") || fail "no PCI device $id"
	node=$(bind_vfio_pci "$bdf") || exit 1
	echo "G: $id bound vfio-pci"
	vfiokit info "$bdf" --json -k >/tmp/info.json || fail "vfiokit info $bdf --json failed"
	sed "s/^/J: $id /" /tmp/info.json
	vfiokit info "$bdf" -v | sed -n "s/^Region 8: /G: $id region 8: /p"
	# -k: what sysfs says, by address and by group; the group as the guest sees it.
	echo "G: $id sysfs $bdf group $(group_of "$bdf")"
	vfiokit info "$bdf" -k | grep -E 'Kernel driver in use|IOMMU group' | sed "s/^[[:space:]]*/G: $id k: /"
	vfiokit info "$node" -k | grep 'IOMMU group' | sed "s/^[[:space:]]*/G: $id kg: /"
	# -x: the host feeds this to lspci -F (the device line is the slot line).
	vfiokit info "$bdf" -x | sed "s/^/X: $id /"
done
vfiokit selftest edu "$bdf" | sed 's/^/G: /'
GUEST
}

main() {
	local t0
	peers_begin --host-only
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh"
	truncate -s 16M "$tmp/nvme.img"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" \
		--initrd "$tmp/initrd.cpio.gz" --timeout "${PEERS_BOOT_TIMEOUT:-120}" \
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
	tr -d '\r' <"$tmp/serial.log" | python3 "$PEERS/check-kernel-info.py" ||
		die "the kernel's answers differ from the expected ones"
	echo "PASS: kernel-vfio-info: e1000e, nvme, edu through the kernel's vfio-pci"
}

main "$@"
