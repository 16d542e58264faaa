#!/usr/bin/env bash
# Real peer, issue 13 item 6 (b): the examples/ ring device end to end in
# QEMU 11's guest. examples/ring-device.c (timer data written into a ring
# by DMA, then MSI-X) and its driver examples/ring-client.c are built
# outside the tree against a staged install of the static build
# (`cc -static $(pkg-config --static --cflags --libs libvfiokit)`). The
# device is served on the host behind vfio-user-pci (q35, vIOMMU); the
# guest binds it to its vfio-pci and ring-client (kernel backend: type1
# DMA map, MSI-X on an eventfd) checks 64 records byte for byte and that
# interrupts came, then unmaps the ring while the device runs, which the
# device's DMA listener must answer by stopping. Twice: memfd share=on
# guest RAM (DMA_MAP with fds, no DMA messages) and plain guest RAM
# (every record a DMA_WRITE message).
# Exit 0 pass, 77 cannot run on this machine, else failure.
set -euo pipefail
PEERS=$(cd "$(dirname "$0")/../../scripts/peers" && pwd)
# shellcheck source=scripts/peers/lib.sh
. "$PEERS/lib.sh"
# shellcheck source=scripts/peers/test-lib.sh
. "$PEERS/test-lib.sh"

DEV=0000:00:04.0
EXPECTED="0x1af4:0x10f2 bound vfio-pci
ring-client: 64 records ok, N interrupts (memfd memory)
ring-client: unmapped while running: device stopped (Bad address)"

# The examples, built the way a user builds them: a staged install, then
# plain cc with pkg-config. Static, as the guest has busybox only.
build_examples() {
	local dir=${PEERS_STATIC_BUILD:-$REPO_ROOT/build-static} pc ex
	ninja -C "$dir" libvfiokit.a >"$tmp/static-lib.log" 2>&1 ||
		die "static libvfiokit.a: see $tmp/static-lib.log"
	meson install -C "$dir" --destdir "$tmp/root" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
		die "meson install of the static build failed: $(cat "$tmp/install.log")"
	pc=$(find "$tmp/root" -name libvfiokit.pc | head -n 1)
	[ -n "$pc" ] || die "the static install has no libvfiokit.pc"
	for ex in ring-device ring-client; do
		# shellcheck disable=SC2046 # pkg-config's words, split on purpose
		PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$tmp/root \
			cc -static -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -O2 \
			-o "$tmp/$ex" "$REPO_ROOT/examples/$ex.c" \
			$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$tmp/root \
				pkg-config --static --cflags --libs libvfiokit) ||
			die "cc $ex.c against the staged static libvfiokit failed"
	done
}

# The interrupt count varies with timing; the guest prints N for any
# count above 0, so 0 interrupts shows as a difference.
write_guest_test() {
	cat >"$1" <<GUEST
. /lib/peer.sh
d=/sys/bus/pci/devices/$DEV
[ -e \$d ] || fail "no device at $DEV"
[ -n "${PEERS_UNSAFE_IRQ:-}" ] && echo 1 >/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts
node=\$(bind_vfio_pci $DEV) || exit 1
echo "G: \$(cat \$d/vendor):\$(cat \$d/device) bound vfio-pci"
ring-client $DEV --records 64 --period-us 2000 --unmap-running >/tmp/out 2>&1
rc=\$?
cat /tmp/out | sed -r 's/, [1-9][0-9]* interrupts, [0-9]+ dropped/, N interrupts/; s/^/G: /'
[ \$rc = 0 ] || fail "ring-client exit \$rc"
GUEST
}

# run_boot NAME [--memfd]: one guest run against a fresh ring-device
run_boot() {
	local name=$1 t0 rc=0 fds msgs
	shift
	VFIOKIT_LOG=debug "$tmp/ring-device" "$tmp/ring.sock" >"$tmp/server.out" 2>"$tmp/server.log" &
	SERVER_PID=$!
	wait_socket "$tmp/ring.sock" "ring-device did not create its socket"
	t0=$(date +%s.%N)
	"$PEERS/run-qemu.sh" boot qemu11 --log "$tmp/$name.log" --initrd "$tmp/initrd.cpio.gz" \
		"$@" --share "$tmp" --timeout "${PEERS_BOOT_TIMEOUT:-180}" \
		--append intel_iommu=on -- \
		-machine q35,kernel-irqchip=split \
		-device "${PEERS_IOMMU:-intel-iommu,intremap=on,caching-mode=on}" \
		-device "$(vfio_user_dev "$tmp/ring.sock" 4)" ${PEERS_QEMU_EXTRA:-} 2>"$tmp/qemu.err" || rc=$?
	log "$name: guest run took $(since "$t0")s (QEMU exit $rc)"
	stop_server
	cp "$tmp/server.log" "$tmp/$name-server.log"
	[ -n "${PEERS_DUMP:-}" ] && guest_lines "$tmp/$name.log" >&2
	expect_lines "qemu11-examples ($name)" "$tmp/$name.log" "$EXPECTED"
	fds=$(count 'DMA_MAP .* fd yes: 0$' "$tmp/server.log")
	msgs=$(count ': DMA_WRITE iova .*: 0$' "$tmp/server.log")
	log "$name: DMA_MAP with fd $fds, without $(count 'DMA_MAP .* fd no: 0$' "$tmp/server.log"); $msgs DMA_WRITE messages answered"
	grep -E ': DMA_(READ|WRITE) iova .*: -' "$tmp/server.log" >&2 &&
		die "$name: QEMU refused DMA_WRITE messages"
	echo "$fds $msgs"
}

main() {
	local fds msgs
	peers_begin
	build_examples
	write_guest_test "$tmp/test.sh"
	"$PEERS/mkinitrd.sh" "$tmp/initrd.cpio.gz" "$tmp/ring-client:/bin/ring-client" \
		"$tmp/test.sh:/test.sh"
	read -r fds msgs < <(run_boot memfd --memfd)
	[ "$fds" -ge 1 ] || die "memfd run: QEMU sent no DMA_MAP with an fd"
	[ "$msgs" = 0 ] || die "memfd run: the device used $msgs DMA messages"
	# 64 records, each a DMA_WRITE message of its own
	read -r fds msgs < <(run_boot plain)
	[ "$fds" = 0 ] || die "plain run: QEMU sent $fds DMA_MAP with fds"
	[ "$msgs" -ge 64 ] || die "plain run: only $msgs DMA_WRITE messages for 64 records"
	echo "PASS: qemu11-examples: the ring example, memfd and plain guest RAM"
}

main "$@"
