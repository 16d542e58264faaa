#!/usr/bin/env bash
# bench-proxy.sh [-n N] [-r ROUNDS]: the proxy benchmark
# (bench/bench_proxy_kernel.c) on the Linux kernel's VFIO. Host QEMU 7.2
# boots the peers guest (q35, vIOMMU, -accel tcg) with two edu devices, both
# bound to the guest's vfio-pci; in the guest, bench_proxy_kernel times the
# first edu directly against `vfiokit proxy` of the same edu (alternating
# phases), then against a proxy of the second edu (--pair, interleaved).
# Prints bench_proxy_kernel's JSON lines on stdout, the alternating run
# first. Called by bench/proxy_bench.py
# (`make bench`); docs/performance.md, "Proxy", says what they mean.
# Exit 0 ok, 77 cannot run on this machine (SKIP: reason), else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

N=${BENCH_PROXY_N:-20000}
ROUNDS=${BENCH_PROXY_ROUNDS:-4}

# The guest's side: both edus to vfio-pci, then the two runs. Lines for the
# host start with "B: " (results) or "E: " (errors).
write_guest_test() {
	cat >"$1" <<GUEST
. /lib/peer.sh
dmesg -n 1
edus=\$(for d in /sys/bus/pci/devices/*; do
	[ "\$(cat \$d/vendor):\$(cat \$d/device)" = 0x1234:0x11e8 ] && basename \$d
done)
set -- \$edus
[ \$# = 2 ] || fail "two edu devices expected, found \$#"
a=\$1 b=\$2
bind_vfio_pci \$a >/dev/null || exit 1
bind_vfio_pci \$b >/dev/null || exit 1
bench_proxy_kernel -n $N -r $ROUNDS --vfiokit /bin/vfiokit \$a >/tmp/alt.out 2>/tmp/alt.err ||
	{ sed 's/^/E: /' /tmp/alt.err; fail "bench_proxy_kernel \$a failed"; }
sed 's/^/B: /' /tmp/alt.out
vfiokit proxy \$b --socket /tmp/p.sock -q >/dev/null 2>/tmp/proxy.err &
pid=\$!
i=0
while [ ! -S /tmp/p.sock ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
bench_proxy_kernel -n $N --pair \$a /tmp/p.sock >/tmp/pair.out 2>/tmp/pair.err ||
	{ sed 's/^/E: /' /tmp/pair.err /tmp/proxy.err; fail "bench_proxy_kernel --pair failed"; }
sed 's/^/B: /' /tmp/pair.out
kill \$pid
wait \$pid || fail "the proxy of \$b exited with \$?"
GUEST
}

main() {
	local bench static t0 opt
	while getopts n:r: opt; do
		case $opt in
		n) N=$OPTARG ;;
		r) ROUNDS=$OPTARG ;;
		*) die "usage: bench-proxy.sh [-n N] [-r ROUNDS]" ;;
		esac
	done
	peers_begin --host-only
	# build-static.sh set the static build up (BUILD/src/cli/vfiokit); the
	# bench is one more target of it.
	static=$(dirname "$(dirname "$(dirname "$VFIOKIT")")")
	ninja -C "$static" bench/bench_proxy_kernel >"$tmp/ninja.log" 2>&1 ||
		{ cat "$tmp/ninja.log" >&2; die "static bench_proxy_kernel build failed"; }
	bench=$static/bench/bench_proxy_kernel
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$VFIOKIT:/bin/vfiokit" \
		"$bench:/bin/bench_proxy_kernel" "$tmp/test.sh:/test.sh"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot host --log "$tmp/serial.log" \
		--initrd "$tmp/initrd.cpio.gz" --timeout "${PEERS_BOOT_TIMEOUT:-900}" \
		--append "intel_iommu=on" -- \
		-machine q35,kernel-irqchip=split \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device edu -device edu 2>"$tmp/qemu.err" || log "QEMU exited with $?"
	log "guest run took $(since "$t0")s"
	tr -d '\r' <"$tmp/serial.log" | sed -n 's/^E: //p' >&2
	grep -q '^PEER-TEST-EXIT 0' <(tr -d '\r' <"$tmp/serial.log") || {
		tail -n 20 "$tmp/serial.log" >&2
		die "the guest's bench did not exit 0"
	}
	tr -d '\r' <"$tmp/serial.log" | sed -n 's/^B: //p'
}

main "$@"
