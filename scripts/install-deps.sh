#!/usr/bin/env bash
# Install the Debian packages a target needs, only those missing.
# Usage: scripts/install-deps.sh [build|demo|check|bench|fuzz]...
set -euo pipefail

build_pkgs=(gcc make meson ninja-build pkg-config libjson-c-dev libcmocka-dev linux-libc-dev python3 libpci-dev)
check_pkgs=(device-tree-compiler valgrind clang libclang-rt-14-dev pciutils)
demo_pkgs=(device-tree-compiler)
bench_pkgs=(gnuplot-nox)
fuzz_pkgs=(clang libclang-rt-14-dev)

wanted=("${build_pkgs[@]}")
for target in "$@"; do
	case "$target" in
	build) ;;
	demo) wanted+=("${demo_pkgs[@]}") ;;
	check) wanted+=("${check_pkgs[@]}") ;;
	bench) wanted+=("${bench_pkgs[@]}") ;;
	fuzz) wanted+=("${fuzz_pkgs[@]}") ;;
	*) echo "install-deps: unknown target '$target'" >&2; exit 2 ;;
	esac
done

missing=()
for pkg in "${wanted[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
