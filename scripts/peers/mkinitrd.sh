#!/usr/bin/env bash
# mkinitrd.sh OUT.cpio.gz [SRC[:/DEST]]...
# Writes the base guest initramfs (see setup-guest.sh) plus the given files
# or folders; DEST defaults to /basename(SRC). /init runs /test.sh when there
# is one, then prints "PEER-TEST-EXIT <status>" and powers off; guest-lib.sh
# is always added as /lib/peer.sh. Binaries must
# be statically linked: the guest has busybox and nothing else.
# e.g. mkinitrd.sh t.cpio.gz build/src/cli/vfiokit:/bin/vfiokit my-test.sh:/test.sh
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

# dynamic ELF files have a program interpreter, which the guest lacks
warn_if_dynamic() {
	command -v readelf >/dev/null || return 0
	if readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; then
		log "warning: $1 is dynamically linked and will not run in the guest"
	fi
}

stage() {
	local dir=$1 arg src dest
	shift
	for arg in "$@"; do
		case $arg in
		*:/*) src=${arg%%:/*} dest=/${arg#*:/} ;;
		*) src=$arg dest=/$(basename "$arg") ;;
		esac
		[ -e "$src" ] || die "mkinitrd: no such file: $src"
		[ -f "$src" ] && warn_if_dynamic "$src"
		mkdir -p "$dir$(dirname "$dest")"
		cp -a "$src" "$dir$dest"
	done
}

main() {
	local out=${1:?usage: mkinitrd.sh OUT.cpio.gz [SRC[:/DEST]]...}
	shift
	"$PEERS_LIB_DIR/setup-guest.sh" >&2 # quick when ready; passes on exit 77
	tmp=$(mktemp -d) # global: the EXIT trap runs after main returns
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/root"
	stage "$tmp/root" "$PEERS_LIB_DIR/guest-lib.sh:/lib/peer.sh" "$@"
	# the kernel unpacks concatenated archives in turn, later files winning
	(cd "$tmp/root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp/extra.cpio.gz"
	cat "$GUEST_DIR/base.cpio.gz" "$tmp/extra.cpio.gz" >"$out"
}

main "$@"
