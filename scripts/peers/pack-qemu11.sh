#!/usr/bin/env bash
# pack-qemu11.sh: print the path of an uncompressed initramfs part that
# holds QEMU 11's qemu-system-x86_64 from the trixie chroot under /q11,
# for running QEMU 11 inside a test guest (`chroot /q11
# qemu-system-x86_64 ...`). The guest kernel has no 9p, so the chroot
# cannot be shared into it; this part is appended to a test's initramfs
# (the kernel unpacks concatenated archives, compressed or not).
# It holds only what the binary needs: its shared-library closure (ldd in
# the chroot), its module folder (accel-qtest.so lives there), its
# firmware and data folders, and empty /dev, /proc, /sys and /tmp to
# mount on. Kept uncompressed: gunzip of it in the TCG guest costs about
# 1 to 1.7 s of boot (docs/peers.md).
# Cached in $PEERS_CACHE/qemu11-root.cpio, rebuilt when this script or the
# chroot's QEMU package changes. Exit 0 ok, 77 cannot run here, else failure.
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

OUT=$PEERS_CACHE/qemu11-root.cpio
# folders QEMU reads at run time: modules, firmware (bios-256k.bin is
# seabios'), keymaps and option ROMs
DATA_DIRS=(/usr/lib/x86_64-linux-gnu/qemu /usr/share/qemu /usr/share/seabios)

# the closure of the binary and of its modules, as paths in the chroot
closure() {
	local f
	for f in /usr/bin/qemu-system-x86_64 "$TRIXIE_DIR"/usr/lib/x86_64-linux-gnu/qemu/*.so; do
		chroot "$TRIXIE_DIR" ldd "${f#"$TRIXIE_DIR"}" 2>/dev/null |
			awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	done | sort -u
}

# stage DIR: the files at their chroot paths, symlinks to libraries
# resolved (the image's /lib is a real folder, not the chroot's link)
stage() {
	local root=$1/q11 p d
	mkdir -p "$root"/{dev,proc,sys,tmp,usr/bin}
	cp -L "$TRIXIE_DIR/usr/bin/qemu-system-x86_64" "$root/usr/bin/"
	while read -r p; do
		mkdir -p "$root$(dirname "$p")"
		cp -L "$TRIXIE_DIR$(chroot "$TRIXIE_DIR" readlink -f "$p")" "$root$p"
	done < <(closure)
	for d in "${DATA_DIRS[@]}"; do
		mkdir -p "$root$(dirname "$d")"
		cp -a "$TRIXIE_DIR$d" "$root$d"
	done
}

main() {
	local key
	require_host
	"$PEERS_LIB_DIR/setup-qemu.sh" >&2 # quick when ready; passes on exit 77
	lock_cache qemu11-root
	# shellcheck disable=SC2016 # dpkg-query's own ${Version}
	key="$(chroot "$TRIXIE_DIR" dpkg-query -W -f='${Version}' qemu-system-x86) $(sha256sum <"$0" | cut -c1-16)"
	if [ -f "$OUT" ] && [ "$(cat "$OUT.key" 2>/dev/null)" = "$key" ]; then
		echo "$OUT"
		return 0
	fi
	tmp=$(mktemp -d) # global: the EXIT trap runs after main returns
	trap 'rm -rf "$tmp"' EXIT
	stage "$tmp"
	(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	echo "$key" >"$OUT.key"
	log "packed QEMU 11 for the guest: $(du -h "$OUT" | cut -f1) in $OUT"
	echo "$OUT"
}

main "$@"
