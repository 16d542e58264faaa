# shellcheck shell=bash
# Shared helpers for the real-peer scripts. Source it; do not run it.
# Exit code convention: 0 ok, 77 "cannot run on this machine", else failure.

PEERS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$PEERS_LIB_DIR/../.." && pwd)
PEERS_CACHE=${PEERS_CACHE:-$REPO_ROOT/.cache/peers}
# shellcheck disable=SC2034 # used by the scripts that source this
TRIXIE_DIR=$PEERS_CACHE/trixie
# shellcheck disable=SC2034
GUEST_DIR=$PEERS_CACHE/guest
PEERS_SKIP=77
export DEBIAN_FRONTEND=noninteractive

log() { printf '[peers] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
skip() { printf 'SKIP: %s\n' "$*"; exit "$PEERS_SKIP"; }

# since T0: seconds elapsed since T0 (a `date +%s.%N` value), one decimal.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME CMD...: run CMD in a subshell (its traps end with it) and report
# its wall time. Never write `step ... ||` or `if step`: bash then ignores
# set -e inside CMD, so CMD's own failures would pass unseen.
step() {
	local name=$1 t0 rc=0
	shift
	t0=$(date +%s.%N)
	set +e
	(
		set -e
		"$@"
	)
	rc=$?
	set -e
	log "$(printf 'step %-26s %6ss%s' "$name" "$(since "$t0")" \
		"$([ "$rc" = 0 ] || echo " (exit $rc)")")"
	return "$rc"
}

# Preconditions that no script can fix: report them as "cannot run here".
require_host() {
	[ "$(uname -s)" = Linux ] || skip "not Linux"
	[ "$(uname -m)" = x86_64 ] || skip "not x86_64 ($(uname -m))"
	[ "$(id -u)" = 0 ] || skip "needs root (chroot, apt-get, mount)"
	command -v apt-get >/dev/null || skip "no apt-get: not a Debian host"
}

# lock_cache NAME: hold a lock on the cache till exit, so parallel tests
# set up once.
lock_cache() {
	exec 9>"$PEERS_CACHE/.$1.lock"
	flock 9
}

# host_install PKG...: apt-get install the packages that are missing.
host_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	log "host apt-get install ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q \
			--no-install-recommends "${missing[@]}" >/dev/null; }
}

# The Debian mirror this machine already uses; the repo names no host itself.
debian_mirror() {
	local uri
	[ -n "${PEERS_MIRROR:-}" ] && { echo "$PEERS_MIRROR"; return; }
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
		grep -v -- '-security' | head -n1)
	[ -n "$uri" ] || uri=$(grep -hE '^deb[[:space:]]' /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -E 's/\[[^]]*\]//' | awk '{ print $2 }' |
		grep -v -- '-security' | head -n1)
	[ -n "$uri" ] || return 1
	echo "${uri%/}"
}
