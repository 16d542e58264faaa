#!/usr/bin/env bash
# Real peer: QEMU 11's vfio-user-pci client on `vfiokit serve` (V100 GPU and
# NPU2 bridge models), q35 with a vIOMMU and shared memfd guest RAM.
# Issue 6 tests 1 and 4: the guest reads both devices' config space from
# sysfs, writes and reads back the GPU's BAR0 scratch register through an
# mmap of resource0, binds the GPU to its own vfio-pci and goes through
# the region read/write (pread/pwrite) and mmap paths, and runs
# `vfiokit info` on it through the guest kernel. The server's debug log
# must show those accesses and QEMU's DMA_MAP/UNMAP traffic without errors.
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

GPU=0000:00:04.0
NPU=0000:00:05.0

write_machine() {
	cat >"$1" <<'JSON'
{ "devices": [
  { "name": "gpu0", "model": "v100", "socket": "gpu0.sock",
    "options": { "bar1": "256M", "aperture": "1G" } },
  { "name": "gpu0-nvlink0", "model": "npu2", "socket": "npu0.sock" } ] }
JSON
}

write_guest_test() {
	cat >"$1" <<GUEST
. /lib/peer.sh
d=/sys/bus/pci/devices
for b in $GPU $NPU; do
	[ -e \$d/\$b ] || fail "no device at \$b"
	echo "G: \$b \$(cat \$d/\$b/vendor):\$(cat \$d/\$b/device) class \$(cat \$d/\$b/class)"
	echo "G: \$b config \$(od -An -tx1 -N16 \$d/\$b/config | tr -s ' ')"
	i=0
	while read -r start end flags && [ \$i -lt 6 ]; do
		[ \$((end)) -ne 0 ] && echo "G: \$b bar\$i size \$(printf '%#x' \$((end - start + 1))) flags \$flags"
		i=\$((i + 1))
	done <\$d/\$b/resource
done
vfiokit selftest bar-rw \$d/$GPU/resource0 0x1400 0xcafe1234 | sed 's/^/G: /'
node=\$(bind_vfio_pci $GPU) || exit 1
echo "G: bound vfio-pci"
vfiokit mem --via region $GPU 0 write 0x1400 0x1122334455667788 || fail "region write"
echo "G: region read \$(vfiokit mem --via region $GPU 0 read 0x1400)"
vfiokit mem --via mmap $GPU 0 write 0x1400 0xa5a5a5a5 || fail "mmap write"
echo "G: mmap read \$(vfiokit mem --via mmap $GPU 0 read 0x1400)"
echo "G: boot0 \$(vfiokit mem --via region $GPU 0 read 0)"
vfiokit info $GPU >/tmp/info || fail "vfiokit info"
grep -E '^(Region|IRQ) ' /tmp/info | sed 's/^/G: /'
GUEST
}

main() {
	local t0 rc=0
	peers_begin
	write_machine "$tmp/machine.json"
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh"
	start_server "$tmp/machine.json"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot qemu11 --log "$tmp/serial.log" --initrd "$tmp/initrd.cpio.gz" \
		--memfd --share "$tmp" --timeout "${PEERS_BOOT_TIMEOUT:-180}" \
		--append intel_iommu=on -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device "$(vfio_user_dev "$tmp/gpu0.sock" 4)" \
		-device "$(vfio_user_dev "$tmp/npu0.sock" 5)" 2>"$tmp/qemu.err" || rc=$?
	log "guest run took $(since "$t0")s (QEMU exit $rc)"
	stop_server
	[ -s "$tmp/qemu.err" ] && sed 's/^/qemu: /' "$tmp/qemu.err" >&2
	check "$tmp/serial.log" "$tmp/server.log"
	echo "PASS: qemu11-gpu"
}

check() {
	local serial=$1 slog=$2 maps unmaps bad
	if [ -n "${PEERS_DUMP:-}" ]; then guest_lines "$serial"; cat "$slog" >&2; fi
	expect_lines qemu11-gpu "$serial" "$EXPECTED"
	# the guest's accesses, seen by the server
	[ "$(count 'gpu0: REGION_WRITE region 0 offset 0x1400 count 4: 4$' "$slog")" -ge 2 ] ||
		die "the server did not see the guest's 4-byte scratch writes"
	[ "$(count 'gpu0: REGION_WRITE region 0 offset 0x1400 count (4|8): (4|8)$' "$slog")" -ge 3 ] ||
		die "the server did not see the region-path write"
	[ "$(count 'gpu0: REGION_READ region 0 offset 0x1400 ' "$slog")" -ge 3 ] ||
		die "the server did not see the scratch reads"
	maps=$(count 'gpu0: DMA_MAP .*: 0$' "$slog")
	unmaps=$(count 'gpu0: DMA_UNMAP .*: 0$' "$slog")
	bad=$(grep -E 'gpu0: DMA_(MAP|UNMAP) .*: -[0-9]+$' "$slog" || true)
	log "server: gpu0 DMA_MAP $maps ok, DMA_UNMAP $unmaps ok"
	[ -z "$bad" ] || die "DMA errors answered to QEMU: $bad"
	[ "$maps" -ge 1 ] || die "QEMU sent no DMA_MAP"
	if grep -E '^vfiokit: (error|warning):' "$slog" >&2; then die "the server logged errors"; fi
}

# What the guest prints, line by line. No region 9 (GPU RAM): QEMU's
# vfio-pci does not pass device-specific regions on to the guest, so its
# kernel's vfio-pci only knows the BARs and config space (docs/peers.md).
EXPECTED="0000:00:04.0 0x10de:0x1db1 class 0x030200
0000:00:04.0 config  de 10 b1 1d 03 01 10 00 a1 00 02 03 00 00 00 00
0000:00:04.0 bar0 size 0x1000000 flags 0x0000000000040200
0000:00:04.0 bar1 size 0x10000000 flags 0x000000000014220c
0000:00:04.0 bar3 size 0x2000000 flags 0x000000000014220c
0000:00:05.0 0x1014:0x04ea class 0x068000
0000:00:05.0 config  14 10 ea 04 03 01 10 00 00 00 80 06 00 00 00 00
0000:00:05.0 bar0 size 0x20000 flags 0x0000000000140204
0000:00:05.0 bar2 size 0x20000 flags 0x0000000000140204
selftest: bar-rw /sys/bus/pci/devices/0000:00:04.0/resource0+0x1400 wrote 0xcafe1234 read 0xcafe1234 ok
bound vfio-pci
region read read region 0 offset 0x1400 via region: 0x0000000055667788
mmap read read region 0 offset 0x1400 via mmap: 0x00000000a5a5a5a5
boot0 read region 0 offset 0x0 via region: 0x00000000140000a1
Region 0 BAR0: size 0x1000000 (16 MiB) offset 0x0 flags READ WRITE MMAP
Region 1 BAR1: size 0x10000000 (256 MiB) offset 0x10000000000 flags READ WRITE MMAP
Region 2 BAR2: size 0x0 (0 B) offset 0x20000000000 flags none
Region 3 BAR3: size 0x2000000 (32 MiB) offset 0x30000000000 flags READ WRITE MMAP
Region 4 BAR4: size 0x0 (0 B) offset 0x40000000000 flags none
Region 5 BAR5: size 0x0 (0 B) offset 0x50000000000 flags none
Region 6 ROM: size 0x0 (0 B) offset 0x60000000000 flags none
Region 7 CONFIG: size 0x1000 (4 KiB) offset 0x70000000000 flags READ WRITE
IRQ 0 INTx: count 1 flags EVENTFD MASKABLE AUTOMASKED
IRQ 1 MSI: count 1 flags EVENTFD NORESIZE
IRQ 2 MSI-X: count 0 flags EVENTFD NORESIZE
IRQ 3 ERR: count 1 flags EVENTFD NORESIZE
IRQ 4 REQ: count 1 flags EVENTFD NORESIZE"
main "$@"
