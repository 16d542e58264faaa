#!/usr/bin/env bash
# Real peer, issue 14 test 5, the seed's full circle: the host serves a
# V100 and its NPU2 bridge (`vfiokit serve`); QEMU 11's vfio-user-pci puts
# them in a guest, dropping their device-specific regions on the way (the
# guest's vfio-pci reports 9 regions, no GPU RAM, no ATSD); in the guest
# `vfiokit proxy --subdriver nvlink2,dt=/dt-fixture` serves each again,
# the device-tree fixture (tests/proxy/nvlink2/dt-fixture) mapping them by
# PCI address; `vfiokit info` and `vfiokit topology` on the proxies'
# sockets must show what the host served: GPU RAM region 9 with TYPE and
# SSATGT, the ATSD region 9 with SSATGT and LNKSPD, the pair linked.
# The bridge is named by its short address (00:05.0: domain 0).
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

GPU=0000:00:04.0
NPU=0000:00:05.0
FIXTURE=$REPO_ROOT/tests/proxy/nvlink2/dt-fixture
# the fixture's values (tests/proxy/nvlink2/README.md), served by the host
TGT=0x3c000000000
APERTURE=128G

write_machine() {
	cat >"$1" <<JSON
{ "devices": [
  { "name": "gpu0", "model": "v100", "socket": "gpu0.sock",
    "options": { "bar1": "256M", "aperture": "$APERTURE", "tgt": "$TGT" } },
  { "name": "gpu0-nvlink0", "model": "npu2", "socket": "npu0.sock",
    "options": { "tgt": "$TGT" } } ] }
JSON
}

write_guest_test() {
	cat >"$1" <<GUEST
. /lib/peer.sh
dmesg -n 1
wait_sock() {
	i=0
	while [ ! -S "\$1" ]; do
		i=\$((i + 1))
		[ \$i -gt 200 ] && fail "no socket \$1: \$(cat \$2)"
		sleep 0.05
	done
}
for b in $GPU $NPU; do
	bind_vfio_pci \$b >/dev/null || exit 1
	echo "G: \$b through QEMU: \$(vfiokit info \$b --json | sed -n 's/.*"num_regions":\([0-9]*\).*/\1/p') regions, region 9 \$(vfiokit info \$b --region 9 >/dev/null 2>&1 && echo present || echo absent)"
done
vfiokit proxy $GPU --socket /tmp/gpu.sock --subdriver nvlink2,dt=/dt-fixture -v >/dev/null 2>/tmp/gpu.log &
vfiokit proxy ${NPU#0000:} --socket /tmp/npu.sock --subdriver nvlink2,dt=/dt-fixture -v >/dev/null 2>/tmp/npu.log &
wait_sock /tmp/gpu.sock /tmp/gpu.log
wait_sock /tmp/npu.sock /tmp/npu.log
sed 's/^/G: log: /' /tmp/gpu.log /tmp/npu.log | grep nvlink2
vfiokit info /tmp/gpu.sock --region 9 --json | sed 's/^/J: gpu /'
vfiokit info /tmp/npu.sock --region 9 --json | sed 's/^/J: npu /'
vfiokit topology /tmp/gpu.sock /tmp/npu.sock | sed 's/^/T: /'
echo "G: topology exit \$?"
GUEST
}

main() {
	local t0 rc=0
	peers_begin
	write_machine "$tmp/machine.json"
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" "$tmp/test.sh:/test.sh" \
		"$FIXTURE:/dt-fixture"
	start_server "$tmp/machine.json"
	# what the host serves, before QEMU takes the devices (one client each)
	"$VFIOKIT" info "$tmp/gpu0.sock" --region 9 --json >"$tmp/host-gpu.json"
	"$VFIOKIT" info "$tmp/npu0.sock" --region 9 --json >"$tmp/host-npu.json"
	"$VFIOKIT" topology "$tmp/gpu0.sock" "$tmp/npu0.sock" >"$tmp/host-topology.txt"
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
	[ -n "${PEERS_DUMP:-}" ] && tr -d '\r' <"$tmp/serial.log" | grep -E '^(G|T): ' >&2
	grep -q '^PEER-TEST-EXIT 0' <(tr -d '\r' <"$tmp/serial.log") || {
		tail -n 40 "$tmp/serial.log" >&2
		die "the guest test did not exit 0"
	}
	tr -d '\r' <"$tmp/serial.log" | python3 "$PEERS/check-kernel-proxy-nvlink2.py" \
		"$tmp/host-gpu.json" "$tmp/host-npu.json" "$tmp/host-topology.txt" "$tmp/" ||
		die "the proxies in the guest do not show what the host served"
	echo "PASS: kernel-proxy-nvlink2: GPU RAM and ATSD regions 9 again, through QEMU 11 and vfiokit proxy"
}

main "$@"
