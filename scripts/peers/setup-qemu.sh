#!/usr/bin/env bash
# Prepare both QEMU peers: host QEMU 7.2 (kernel-VFIO guests) and QEMU 11 from
# trixie-backports in a chroot under .cache/peers/trixie (vfio-user-pci).
# Idempotent. --host-only: just the host's QEMU.
# Exit 0 ready, 77 cannot run on this machine, else failure.
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

CHROOT_MOUNTS=()

unmount_chroot() {
	local i
	for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${CHROOT_MOUNTS[i]}" 2>/dev/null || true
	done
	CHROOT_MOUNTS=()
}

# mounts_under DIR: is anything still mounted below DIR?
mounts_under() { awk -v d="$1/" 'index($2 "/", d) == 1 { f = 1 } END { exit !f }' /proc/mounts; }

ensure_gitignore() {
	local gi=$REPO_ROOT/.gitignore
	[ "$PEERS_CACHE" = "$REPO_ROOT/.cache/peers" ] || return 0
	grep -qxF '.cache/' "$gi" 2>/dev/null && return 0
	# keep a file without a final newline from gluing two patterns together
	[ -s "$gi" ] && [ -n "$(tail -c1 "$gi")" ] && echo >>"$gi"
	echo '.cache/' >>"$gi"
}

host_packages() { host_install debootstrap qemu-system-x86 || die "cannot install host packages"; }

debootstrap_trixie() {
	local mirror=$1
	[ -f "$TRIXIE_DIR/.debootstrap-done" ] && return 0
	mounts_under "$TRIXIE_DIR" && die "$TRIXIE_DIR has mounts left; unmount them first"
	rm -rf "$TRIXIE_DIR"
	mkdir -p "$TRIXIE_DIR"
	debootstrap --variant=minbase trixie "$TRIXIE_DIR" "$mirror" \
		>"$PEERS_CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $PEERS_CACHE/debootstrap.log"
	touch "$TRIXIE_DIR/.debootstrap-done"
}

chroot_qemu_install() {
	local mirror=$1
	[ -f "$TRIXIE_DIR/.qemu-done" ] && return 0
	printf 'deb %s trixie main\ndeb %s trixie-backports main\n' \
		"$mirror" "$mirror" >"$TRIXIE_DIR/etc/apt/sources.list"
	trap unmount_chroot EXIT
	mount -t proc proc "$TRIXIE_DIR/proc" && CHROOT_MOUNTS+=("$TRIXIE_DIR/proc")
	chroot "$TRIXIE_DIR" apt-get update -q >"$PEERS_CACHE/chroot-apt.log" 2>&1 ||
		die "apt-get update in the chroot failed, see $PEERS_CACHE/chroot-apt.log"
	chroot "$TRIXIE_DIR" apt-get install -y -q --no-install-recommends \
		-t trixie-backports qemu-system-x86 >>"$PEERS_CACHE/chroot-apt.log" 2>&1 ||
		die "installing qemu-system-x86 in the chroot failed, see $PEERS_CACHE/chroot-apt.log"
	chroot "$TRIXIE_DIR" apt-get clean
	unmount_chroot
	touch "$TRIXIE_DIR/.qemu-done"
}

check_vfio_user() {
	local v
	v=$("$PEERS_LIB_DIR/run-qemu.sh" qemu11 --version | head -n1)
	"$PEERS_LIB_DIR/run-qemu.sh" qemu11 -device help | grep -q '"vfio-user-pci"' ||
		die "$v has no vfio-user-pci device"
	log "chroot: $v, has vfio-user-pci"
	log "host:   $(qemu-system-x86_64 --version | head -n1)"
}

main() {
	local mirror t0
	t0=$(date +%s.%N)
	require_host
	mkdir -p "$PEERS_CACHE"
	lock_cache qemu
	ensure_gitignore
	step host-packages host_packages
	[ "${1:-}" = --host-only ] && return 0
	mirror=$(debian_mirror) || skip "no Debian mirror in this machine's apt sources"
	step debootstrap-trixie debootstrap_trixie "$mirror"
	step chroot-qemu-backports chroot_qemu_install "$mirror"
	step check-vfio-user-pci check_vfio_user
	log "setup-qemu done in $(since "$t0")s"
}

main "$@"
