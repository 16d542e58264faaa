#!/usr/bin/env bash
# build-static.sh: build a statically linked `vfiokit` for the guests (they
# have busybox only) in build-static/ (PEERS_STATIC_BUILD moves it) and
# print its path. json-c's static archive comes with libjson-c-dev.
set -euo pipefail
# shellcheck source=scripts/peers/lib.sh
. "$(dirname "$0")/lib.sh"

main() {
	local dir=${PEERS_STATIC_BUILD:-$REPO_ROOT/build-static}
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$REPO_ROOT" --default-library=static --prefer-static \
			-Dc_link_args=-static -Dtests=disabled -Dman=disabled \
			>"$PEERS_CACHE/static-setup.log" 2>&1 ||
			die "meson setup of the static build failed, see $PEERS_CACHE/static-setup.log"
	fi
	# Guests need no man pages, and a staged install (qemu11-examples) of
	# pages that were never built fails: a tree set up before -Dman is
	# switched off once.
	if ! grep -q '^man = disabled' "$dir/meson-private/cmd_line.txt" 2>/dev/null; then
		meson configure "$dir" -Dman=disabled >>"$PEERS_CACHE/static-setup.log" 2>&1 ||
			die "meson configure of the static build failed, see $PEERS_CACHE/static-setup.log"
	fi
	ninja -C "$dir" src/cli/vfiokit >"$PEERS_CACHE/static-build.log" 2>&1 ||
		die "static build failed, see $PEERS_CACHE/static-build.log"
	readelf -l "$dir/src/cli/vfiokit" | grep -q 'program interpreter' &&
		die "$dir/src/cli/vfiokit is not statically linked"
	echo "$dir/src/cli/vfiokit"
}

mkdir -p "$PEERS_CACHE"
main "$@"
