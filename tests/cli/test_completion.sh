#!/usr/bin/env bash
# The bash completion (completions/vfiokit), loaded into a bash and its
# function called as bash would, COMP_WORDS and COMP_CWORD set: commands,
# each command's options and their choices, models and their option keys,
# *.sock targets, selftest checks; and that `meson install` puts it where
# bash-completion looks.
# Usage: test_completion.sh VFIOKIT_BINARY COMPLETION_FILE BUILD_DIR
set -uo pipefail
vfiokit=$1 script=$2 build=$3
work=$(mktemp -d /tmp/vfk-comp-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

# completes NAME "EXPECTED WORDS" WORD...: the sorted candidates for the
# last WORD (the one being typed) of "vfiokit WORD...".
completes() {
	local name=$1 want=$2 got
	shift 2
	got=$(cd "$work/dir" && bash --norc --noprofile -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_vfiokit 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$script" "$vfiokit" "$@")
	got=${got% }
	check "$name" test "$got" = "$want"
	[ "$got" = "$want" ] || printf '# want: %s\n# got:  %s\n' "$want" "$got"
}

mkdir -p "$work/dir/sub"
touch "$work/dir/gpu0.sock" "$work/dir/dma.sock" "$work/dir/machine.json" "$work/dir/notes.txt"

check "the script loads and registers _vfiokit for vfiokit" \
	bash --norc --noprofile -c '. "$1" && complete -p vfiokit | grep -q "_vfiokit vfiokit"' _ "$script"
completes "commands" "--help --version help info mem proxy selftest serve topology" ""
completes "a command's start" "selftest serve" se
completes "proxy options" "--name --no-mmap" proxy --n
completes "proxy TARGET" "dma.sock gpu0.sock sub" proxy ""
completes "help COMMAND" "topology" help to
completes "models" "dmaengine npu2 v100" serve ""
completes "a model's option keys" "aperture= bar1= device= subsys= subsys_vendor= tgt= vendor=" \
	serve v100 ""
completes "keys not given yet" "subsys= subsys_vendor=" serve v100 tgt=0x1 su
completes "dmaengine's keys" "device= vendor=" serve dmaengine ""
completes "serve options" "--socket --socket-group --socket-mode" serve --so
completes "--config: JSON files and directories" "machine.json sub" serve --config ""
completes "--socket-group: groups" "root" serve --socket-group roo
completes "mem options" "--help --json --region --via --width" mem --
completes "mem --via choices" "mmap region" mem --via ""
completes "mem --width choices" "1 2 4 8" mem --width ""
completes "mem TARGET: sockets and directories" "dma.sock gpu0.sock sub" mem ""
completes "...after an option and its value" "dma.sock gpu0.sock sub" mem --region 7 ""
completes "...and not again after the target" "" mem dma.sock ""
completes "info's short options" "-x -xxx -xxxx" info -x
completes "info's -n forms" "-n -nn" info -n
completes "serve's short options" "-q" serve -q
completes "info TARGET" "gpu0.sock" info -v g
completes "topology: several targets" "dma.sock gpu0.sock sub" topology gpu0.sock ""
completes "selftest checks" "bar-rw dma edu" selftest ""
completes "selftest dma --irq choices" "all intx msi msix" selftest dma --irq ""
completes "selftest dma TARGET" "dma.sock gpu0.sock sub" selftest dma ""

# Installed where bash-completion finds it.
if [ -n "$build" ]; then
	check "meson install --tags completion" \
		meson install -C "$build" --no-rebuild --quiet --tags completion --destdir "$work/root"
	check "installed as .../bash-completion/completions/vfiokit" \
		test -n "$(find "$work/root" -path '*/bash-completion/completions/vfiokit' -type f)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
