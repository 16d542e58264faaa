#!/usr/bin/env bash
# Prepare the test guest under .cache/peers/guest: Debian bookworm's cloud
# kernel (downloaded and unpacked, never installed) and the base initramfs
# (busybox-static, the vfio modules in load order, /init). Tests build their
# own initramfs on top with mkinitrd.sh. Idempotent; rm -rf the folder to
# refresh. Exit 0 ready, 77 cannot run on this machine, else failure.
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

# What /init loads, in this order; each one's own deps come first.
VFIO_MODULES=(irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci)

host_packages() { host_install busybox-static cpio kmod xz-utils zstd || die "cannot install host packages"; }

kernel_package() {
	local pkg
	[ -n "${PEERS_KERNEL_PKG:-}" ] && { echo "$PEERS_KERNEL_PKG"; return; }
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-.*-cloud-amd64$/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		apt-get update -q >/dev/null
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			awk '/Depends: linux-image-.*-cloud-amd64$/ { print $2; exit }')
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg"
}

fetch_kernel() {
	local pkg=$1 debs deb
	mkdir -p "$GUEST_DIR/debs"
	debs=("$GUEST_DIR/debs/${pkg}_"*.deb)
	if [ ! -f "${debs[0]}" ]; then
		# _apt cannot write here, so apt warns and downloads as root
		(cd "$GUEST_DIR/debs" && apt-get download -q "$pkg" 2>&1 |
			{ grep -v '^W: Download is performed unsandboxed' >&2 || true; }) ||
			die "apt-get download $pkg failed"
		debs=("$GUEST_DIR/debs/${pkg}_"*.deb)
	fi
	deb=${debs[0]}
	[ -f "$deb" ] || die "apt-get download $pkg left no .deb"
	rm -rf "$GUEST_DIR/kernel"
	dpkg-deb -x "$deb" "$GUEST_DIR/kernel"
	KVER=$(ls "$GUEST_DIR/kernel/lib/modules")
	[ -f "$GUEST_DIR/kernel/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $deb"
	ln -sfn "kernel/boot/vmlinuz-$KVER" "$GUEST_DIR/vmlinuz"
	echo "$KVER" >"$GUEST_DIR/kernel-version"
	# the package ships no modules.dep: depmod makes it as an install would
	depmod -b "$GUEST_DIR/kernel" "$KVER"
}

# mod_path NAME: the module's path relative to /lib/modules/KVER, "-" == "_".
mod_path() {
	local want=${1//-/_}
	awk -F: -v w="$want" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n)
		gsub(/-/, "_", n); if (n == w) { print $1; exit } }' "$MODDIR/modules.dep"
}

mod_deps() { awk -F: -v p="$1" '$1 == p { print $2; exit }' "$MODDIR/modules.dep"; }

declare -A SEEN=()
LOAD_ORDER=()

visit() {
	local p=$1 d
	[ -n "${SEEN[$p]:-}" ] && return 0
	SEEN[$p]=1
	for d in $(mod_deps "$p"); do visit "$d"; done
	LOAD_ORDER+=("$p")
}

# copy_module REL DESTDIR: the .ko, decompressed, named after the module.
copy_module() {
	local rel=$1 out
	out=$2/$(basename "${rel%%.ko*}").ko
	case $rel in
	*.ko.xz) xz -dc "$MODDIR/$rel" >"$out" ;;
	*.ko.zst) zstd -qdc "$MODDIR/$rel" >"$out" ;;
	*.ko.gz) gzip -dc "$MODDIR/$rel" >"$out" ;;
	*) cp "$MODDIR/$rel" "$out" ;;
	esac
	basename "$out" .ko
}

write_init() {
	cat >"$1/init" <<'INIT'
#!/bin/busybox sh
# vfiokit peer guest: mount, load vfio, run /test.sh, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run && mount -t tmpfs tmpfs /tmp
for m in $(cat /lib/modules/load-order); do
	insmod "/lib/modules/$m.ko" || echo "PEER-INIT insmod $m failed"
done
echo "PEER-INIT up $(cut -d' ' -f1 /proc/uptime)s kernel $(uname -r)"
rc=0
if [ -f /test.sh ]; then
	sh /test.sh || rc=$?
else
	echo "PEER-INIT no /test.sh"
fi
echo "PEER-TEST-EXIT $rc"
sync
poweroff -f
INIT
	chmod 755 "$1/init"
}

build_base() {
	local base=$GUEST_DIR/base m rel
	MODDIR=$GUEST_DIR/kernel/lib/modules/$(cat "$GUEST_DIR/kernel-version")
	rm -rf "$base"
	mkdir -p "$base"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
	cp /bin/busybox "$base/bin/busybox"
	ln -s busybox "$base/bin/sh"
	for m in "${VFIO_MODULES[@]}"; do
		rel=$(mod_path "$m")
		if [ -n "$rel" ]; then
			visit "$rel"
		elif grep -q "/${m//[-_]/[-_]}\.ko" "$MODDIR/modules.builtin"; then
			log "module $m is built in"
		elif [ "$m" != vfio_virqfd ]; then # merged into vfio after 6.1
			die "kernel has no module $m"
		fi
	done
	for rel in "${LOAD_ORDER[@]}"; do
		copy_module "$rel" "$base/lib/modules"
	done >"$base/lib/modules/load-order"
	log "modules: $(tr '\n' ' ' <"$base/lib/modules/load-order")"
	write_init "$base"
	(cd "$base" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$GUEST_DIR/base.cpio.gz.tmp"
	mv "$GUEST_DIR/base.cpio.gz.tmp" "$GUEST_DIR/base.cpio.gz"
}

main() {
	local pkg t0 key
	t0=$(date +%s.%N)
	require_host
	mkdir -p "$GUEST_DIR"
	lock_cache guest
	# rebuilt when this script changes; the downloaded .deb is kept
	key="${PEERS_KERNEL_PKG:-} $(sha256sum <"$0" | cut -c1-16)"
	if [ -f "$GUEST_DIR/base.cpio.gz" ] &&
		[ "$(sed -n 2p "$GUEST_DIR/.ready" 2>/dev/null)" = "$key" ]; then
		log "guest ready: $(head -n1 "$GUEST_DIR/.ready")"
		return 0
	fi
	step host-packages host_packages
	pkg=$(kernel_package) || skip "apt knows no linux-image-cloud-amd64 here"
	step fetch-kernel fetch_kernel "$pkg"
	step build-base-initramfs build_base
	printf '%s %s\n%s\n' "$pkg" "$(cat "$GUEST_DIR/kernel-version")" "$key" \
		>"$GUEST_DIR/.ready"
	log "setup-guest done in $(since "$t0")s: $GUEST_DIR"
}

main "$@"
