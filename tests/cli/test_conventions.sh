#!/usr/bin/env bash
# The conventions every vfiokit command keeps (README.md, "Exit status"):
# --version, help CMD = CMD --help on stdout with 0, usage errors exit 2
# in one line naming the option and its range, "did you mean".
# Usage: test_conventions.sh VFIOKIT_BINARY
set -uo pipefail
vfiokit=$1
work=$(mktemp -d /tmp/vfk-conv-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

# run ARGS...: $out, $err and $rc of one vfiokit run.
run() {
	"$vfiokit" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out") err=$(cat "$work/err")
}

# usage_error NAME LINE ARGS...: exit 2, stderr exactly LINE, nothing on stdout.
usage_error() {
	local name=$1 line=$2
	shift 2
	run "$@"
	check "$name: exit 2" test "$rc" -eq 2
	check "$name: one line" test "$err" = "$line"
	check "$name: nothing on stdout" test -z "$out"
}

run --version
check "--version exits 0" test "$rc" -eq 0
check "--version prints the version" grep -qE '^vfiokit [0-9]+\.[0-9]+\.[0-9]+' "$work/out"
run -V
check "-V is --version" grep -qE '^vfiokit [0-9]+\.[0-9]+\.[0-9]+' "$work/out"

for cmd in info serve mem topology selftest proxy; do
	run help "$cmd"
	check "help $cmd exits 0" test "$rc" -eq 0
	check "help $cmd prints its usage" grep -q "^usage: vfiokit $cmd" "$work/out"
	for flag in --help -h; do
		run "$cmd" "$flag"
		check "$cmd $flag exits 0" test "$rc" -eq 0
		check "$cmd $flag prints its usage on stdout" grep -q "^usage: vfiokit $cmd" "$work/out"
	done
done

usage_error "mistyped command" "vfiokit: unknown command 'infp' (did you mean 'info'?)" infp x
usage_error "help of a mistyped command" \
	"vfiokit: unknown command 'topolgy' (did you mean 'topology'?)" help topolgy
usage_error "unknown command" "vfiokit: unknown command 'xyzzy' (see 'vfiokit help')" xyzzy
usage_error "mistyped model" "vfiokit serve: unknown model 'v10' (did you mean 'v100'?)" \
	serve v10 --socket "$work/s.sock"
usage_error "mistyped long option" \
	"vfiokit info: unknown option '--regoin' (did you mean '--region'?)" info --regoin 3 x
usage_error "swapped letters" "vfiokit mem: unknown option '--vai' (did you mean '--via'?)" \
	mem --vai mmap x 0 read 0
usage_error "serve option" "vfiokit serve: unknown option '--sokcet' (did you mean '--socket'?)" \
	serve --sokcet x dmaengine
usage_error "topology option" \
	"vfiokit topology: unknown option '--dtz' (did you mean '--dts'?)" topology --dtz x
usage_error "proxy option" \
	"vfiokit proxy: unknown option '--subdriverr' (did you mean '--subdriver'?)" \
	proxy --subdriverr x t.sock
usage_error "selftest option" \
	"vfiokit selftest dma: unknown option '--lne' (did you mean '--len'?)" selftest dma --lne 3 x
usage_error "unknown short option" "vfiokit info: unknown option '-X'" info -X a
usage_error "missing value" "vfiokit info: option '--region' needs a value" info x --region
usage_error "--region abc" "vfiokit info: --region abc: expected a number from 0 to 4294967295" \
	info --region abc x
usage_error "--timeout 0" "vfiokit info: --timeout 0: expected a number from 1 to 2147483647" \
	info --timeout 0 x
usage_error "--via" "vfiokit mem: --via disk: expected mmap or region" mem --via disk x 0 read 0
usage_error "--irq" "vfiokit selftest dma: --irq nmi: expected msix, msi, intx or all" \
	selftest dma --irq nmi x
usage_error "--len" "vfiokit selftest dma: --len 0: expected a length from 1 to 1048576" \
	selftest dma --len 0 x
usage_error "mistyped selftest check" \
	"vfiokit selftest: unknown check 'dmaa' (did you mean 'dma'?)" selftest dmaa x
usage_error "bar-rw OFFSET" "vfiokit selftest bar-rw: OFFSET 1Q: expected a number from 0 to 2^64-1" \
	selftest bar-rw f 1Q 1
usage_error "bar-rw VALUE" \
	"vfiokit selftest bar-rw: VALUE 0x100000000: expected a number from 0 to 0xffffffff" \
	selftest bar-rw f 0 0x100000000
usage_error "--threads 0" "vfiokit serve: --threads 0: expected a number from 1 to 2^64-1" \
	serve --threads 0 dmaengine --socket "$work/t.sock"
usage_error "--poll-us" "vfiokit serve: --poll-us 1000001: expected a number from 0 to 1000000" \
	serve --poll-us 1000001 dmaengine --socket "$work/t.sock"
usage_error "--poll-us abc" "vfiokit serve: --poll-us abc: expected a number from 0 to 1000000" \
	serve --poll-us abc dmaengine --socket "$work/t.sock"
usage_error "no target" "vfiokit info: expected one TARGET (see 'vfiokit info --help')" info
usage_error "topology without targets" \
	"vfiokit topology: expected 1 to 64 TARGETs (see 'vfiokit topology --help')" topology

usage_error "a model without a socket" "vfiokit serve: dmaengine: --socket PATH is needed" \
	serve dmaengine
run serve dmaengine no_such_key=1 --socket "$work/k.sock"
check "an unknown model option is bad input: exit 2" test "$rc" -eq 2
printf '{ "devices": [ ' >"$work/bad.json"
run serve --config "$work/bad.json"
check "a malformed machine file is bad input: exit 2" test "$rc" -eq 2
run serve --config "$work/none.json"
check "a machine file that is not there: exit 2" test "$rc" -eq 2
run serve dmaengine --socket "$work/no-dir/d.sock"
check "a socket that cannot be made is a failure: exit 1" test "$rc" -eq 1

VFIOKIT_LOG=loud run --version
check "unknown VFIOKIT_LOG: the command still runs" test "$rc" -eq 0
check "unknown VFIOKIT_LOG: one warning naming the levels" test "$err" = \
	"vfiokit: warning: VFIOKIT_LOG=loud: unknown level, using warn (levels: error, warn, info, debug)"
VFIOKIT_LOG=debug run --version
check "a known VFIOKIT_LOG: no warning" test -z "$err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
