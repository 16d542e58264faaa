#!/usr/bin/env bash
# The man pages (man/*.scd): built, installed by `meson install` (tag
# man) into share/man/man1 of the prefix, one for vfiokit and one for
# every command `vfiokit help` lists, each rendering without warnings and
# naming every long option its command's --help names.
# Usage: test_man.sh BUILD_DIR VFIOKIT_BINARY MAN_SOURCE_DIR built|not-built
set -uo pipefail
build=$1 vfiokit=$2 src=$3 state=$4
work=$(mktemp -d /tmp/vfk-man-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

if [ "$state" != built ]; then
	echo "man pages not built (no scdoc, or -Dman=disabled): skipped"
	exit 77
fi
if ! command -v man >/dev/null; then
	echo "no man(1) to render the pages (Debian package man-db): skipped"
	exit 77
fi

option() {
	meson introspect --buildoptions "$build" | python3 -c \
		'import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
prefix=$(option prefix) mandir=$(option mandir)
case "$mandir" in /*) ;; *) mandir=$prefix/$mandir ;; esac
man1=$work/root$mandir/man1

check "meson install --tags man" \
	meson install -C "$build" --no-rebuild --quiet --tags man --destdir "$work/root"
commands=$("$vfiokit" help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' | grep -vx help)
check "vfiokit help lists commands" test -n "$commands"

pages=(vfiokit)
for cmd in $commands; do pages+=("vfiokit-$cmd"); done
for page in "${pages[@]}"; do
	check "$page.1 is installed in $mandir/man1" test -s "$man1/$page.1"
	[ -s "$man1/$page.1" ] || continue
	MANWIDTH=80 man -l --warnings "$man1/$page.1" >"$work/text" 2>"$work/warn"
	check "$page.1 renders" test -s "$work/text"
	check "$page.1 renders without warnings" test ! -s "$work/warn"
	check "$page.1 has its NAME" grep -q "^ *$page - " "$work/text"
done

# Each command's page says what its --help says is there.
for cmd in $commands; do
	page=$src/vfiokit-$cmd.1.scd
	[ -f "$page" ] || continue
	for opt in $("$vfiokit" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		check "vfiokit-$cmd(1) describes $opt (from 'vfiokit $cmd --help')" \
			grep -qF -- "*$opt*" "$page"
	done
	check "vfiokit(1) points to vfiokit-$cmd(1)" grep -qF "*vfiokit-$cmd*(1)" "$src/vfiokit.1.scd"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
