#!/usr/bin/env bash
# Start the QEMU peers.
#
#   run-qemu.sh qemu11 ARGS...   QEMU 11 from the trixie chroot, as is
#   run-qemu.sh host ARGS...     the host's QEMU 7.2, as is
#   run-qemu.sh boot qemu11|host --log FILE [--timeout SEC] [--initrd FILE]
#               [--kernel FILE] [--append "ARGS"] [--share DIR]...
#               [--mem SIZE] [--memfd] -- ARGS...
#       boots the guest kernel with -accel tcg -nographic -nodefaults (no
#       default NIC or disks: the PCI bus holds what ARGS add), serial console to
#       FILE, under `timeout` (exit 124 when it fires); ARGS come last, so
#       they can override -smp and -machine. --mem sets guest RAM (512M);
#       --memfd backs it with a shared memfd, which a vfio-user server needs
#       to get DMA_MAP with fds rather than DMA_READ/DMA_WRITE messages.
#
# QEMU 11 runs as `chroot DIR` in a private mount namespace that bind-mounts
# /dev, /proc and each shared folder at its own path, so socket, log and
# image paths are the same inside and out. Running the chroot's binary
# through its own loader instead was tried: QEMU then loads the host's 7.2
# modules and aborts. PEERS_SHARE (colon-separated folders) adds shares.
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NS_MOUNTS=()
NS_MKDIRS=() # "LEAF TOP" pairs: mount points made in the chroot, to remove

ns_unmount() {
	local i p leaf top
	for ((i = ${#NS_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -R -l "${NS_MOUNTS[i]}" 2>/dev/null || true
	done
	for p in "${NS_MKDIRS[@]}"; do
		leaf=${p% *} top=${p##* }
		while rmdir "$leaf" 2>/dev/null && [ "$leaf" != "$top" ]; do
			leaf=$(dirname "$leaf")
		done
	done
}

ns_mount() { mount "$@" && NS_MOUNTS+=("${*: -1}"); }

# ns_mkdir DIR: mkdir -p, remembering what it made (the chroot stays clean)
ns_mkdir() {
	local top=$1
	[ -d "$1" ] && return 0
	while [ ! -d "$(dirname "$top")" ]; do top=$(dirname "$top"); done
	mkdir -p "$1"
	NS_MKDIRS+=("$1 $top")
}

# In the private namespace: __ns SHARE... -- QEMU-ARGS...
qemu11_in_ns() {
	local shares=() d
	while [ "$1" != -- ]; do shares+=("$1"); shift; done
	shift
	trap ns_unmount EXIT
	ns_mount --rbind /dev "$TRIXIE_DIR/dev"
	ns_mount -t proc proc "$TRIXIE_DIR/proc"
	for d in "${shares[@]}"; do
		[ -d "$d" ] || continue
		ns_mkdir "$TRIXIE_DIR$d"
		ns_mount --bind "$d" "$TRIXIE_DIR$d"
	done
	chroot "$TRIXIE_DIR" qemu-system-x86_64 "$@"
}

# qemu11 [--share DIR]... ARGS...
qemu11() {
	local shares=() d
	[ -x "$TRIXIE_DIR/usr/bin/qemu-system-x86_64" ] ||
		die "no QEMU 11 in $TRIXIE_DIR: run scripts/peers/setup-qemu.sh"
	while [ "${1:-}" = --share ]; do
		shares+=("$(realpath "$2")")
		shift 2
	done
	IFS=: read -r -a d <<<"${PEERS_SHARE:-}"
	for d in "${d[@]}"; do [ -n "$d" ] && shares+=("$(realpath "$d")"); done
	unshare -m --propagation private "$PEERS_LIB_DIR/run-qemu.sh" \
		__ns "${shares[@]}" -- "$@"
}

qemu_host() {
	command -v qemu-system-x86_64 >/dev/null ||
		die "no host qemu-system-x86_64: run scripts/peers/setup-qemu.sh"
	qemu-system-x86_64 "$@"
}

# qemu_boot qemu11|host --log FILE [options] -- ARGS... (see top of file)
qemu_boot() {
	local which=$1 log='' tmo=120 kernel=$GUEST_DIR/vmlinuz initrd='' append=''
	local shares=() run rc=0 mem=512M memfd=
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		--memfd) memfd=1 && shift && continue ;;
		--log) log=$2 ;;
		--timeout) tmo=$2 ;;
		--kernel) kernel=$2 ;;
		--initrd) initrd=$2 ;;
		--append) append=$2 ;;
		--share) shares+=(--share "$2") ;;
		--mem) mem=$2 ;;
		*) die "qemu_boot: unknown option $1" ;;
		esac
		shift 2
	done
	[ "${1:-}" = -- ] && shift
	[ -n "$log" ] || die "qemu_boot: --log FILE is required"
	[ -f "$kernel" ] || die "no guest kernel $kernel: run scripts/peers/setup-guest.sh"
	: >"$log"
	log=$(realpath "$log")
	kernel=$(realpath "$kernel")
	shares+=(--share "$(dirname "$log")" --share "$(dirname "$kernel")")
	# loglevel=3: the guest's test output shares the console with printk,
	# and an informational kernel line could land inside an asserted line.
	local args=(-accel tcg -nographic -nodefaults -monitor none -serial "file:$log"
		-no-reboot -m "$mem" -kernel "$kernel"
		-append "console=ttyS0 panic=-1 loglevel=3 $append")
	if [ -n "$memfd" ]; then
		args+=(-object "memory-backend-memfd,id=peer-mem,size=$mem,share=on"
			-machine memory-backend=peer-mem)
	fi
	if [ -n "$initrd" ]; then
		initrd=$(realpath "$initrd")
		shares+=(--share "$(dirname "$initrd")")
		args+=(-initrd "$initrd")
	fi
	case $which in
	qemu11) run=(qemu11 "${shares[@]}") ;;
	host) run=(host) ;;
	*) die "qemu_boot: which QEMU? qemu11 or host, not '$which'" ;;
	esac
	timeout -k 10 "$tmo" "$PEERS_LIB_DIR/run-qemu.sh" "${run[@]}" \
		"${args[@]}" "$@" </dev/null || rc=$?
	[ "$rc" = 124 ] && log "QEMU timed out after ${tmo}s (serial log: $log)"
	return "$rc"
}

# Sourced: only define the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	__ns) qemu11_in_ns "$@" ;;
	qemu11) qemu11 "$@" ;;
	host) qemu_host "$@" ;;
	boot) qemu_boot "$@" ;;
	*) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2 ;;
	esac
fi
