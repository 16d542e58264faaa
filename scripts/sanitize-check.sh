#!/usr/bin/env bash
# The whole meson test suite under checkers (docs/robustness.md).
#   sanitize-check.sh asan BUILD_ASAN     clang -fsanitize=address,undefined build
#                                         (libFuzzer targets included), tests
#                                         -> BUILD_ASAN/meson-logs/testlog-asan.json
#   sanitize-check.sh valgrind BUILD      the normal build's tests under memcheck
#                                         -> BUILD/meson-logs/testlog-valgrind.json
#   sanitize-check.sh tsan BUILD_TSAN     clang -fsanitize=thread build, suite
#                                         threads (servers in several threads)
#                                         -> BUILD_TSAN/meson-logs/testlog-tsan.json
#   sanitize-check.sh configure BUILD_ASAN   only set up the clang build dir
# A run that cannot build leaves no testlog, which test-summary.py counts as
# a failure. Prints meson's own report, not the summary line: the caller
# sums every run into one line (see the Makefile's check target).
set -uo pipefail
cd "$(dirname "$0")/.."

configure_asan() {
	local dir=$1
	[ -f "$dir/build.ninja" ] && return 0
	# werror off: gcc's build enforces warnings; this one is for sanitizers
	# and must not fail on a warning only clang emits.
	CC=clang meson setup "$dir" -Dfuzz=enabled -Dwerror=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
}

run_asan() {
	local dir=$1
	rm -f "$dir/meson-logs/testlog-asan.json"
	configure_asan "$dir" && ninja -C "$dir" || return 1
	meson test -C "$dir" --setup asan --print-errorlogs --num-processes 2
}

configure_tsan() {
	local dir=$1
	[ -f "$dir/build.ninja" ] && return 0
	# werror off as in build-asan.
	CC=clang meson setup "$dir" -Dwerror=false -Db_sanitize=thread -Db_lundef=false
}

# TSan wants its fixed address layout: on kernels with more mmap
# randomisation than it knows (vm.mmap_rnd_bits > 28 with clang 14) it
# fails at start. Address randomisation off for this run only, when
# setarch can do that here; the personality passes to every child.
no_aslr() {
	if setarch "$(uname -m)" -R true 2>/dev/null; then
		setarch "$(uname -m)" -R "$@"
	else
		"$@"
	fi
}

# Only what suite threads runs is built: the rest of the suite runs one
# server (beside at most a test client), which ASan and valgrind cover.
run_tsan() {
	local dir=$1
	rm -f "$dir/meson-logs/testlog-tsan.json"
	configure_tsan "$dir" && ninja -C "$dir" tests/threads/test_threads src/cli/vfiokit || return 1
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 no_aslr \
		meson test -C "$dir" --suite threads --no-rebuild --logbase testlog-tsan \
		--print-errorlogs --num-processes 2
}

run_valgrind() {
	local dir=$1
	rm -f "$dir/meson-logs/testlog-valgrind.json"
	[ -f "$dir/build.ninja" ] || meson setup "$dir" || return 1
	ninja -C "$dir" || return 1
	meson test -C "$dir" --setup valgrind --print-errorlogs --num-processes 2
}

case "${1:-}" in
configure) configure_asan "${2:-build-asan}" ;;
asan) run_asan "${2:-build-asan}" ;;
tsan) run_tsan "${2:-build-tsan}" ;;
valgrind) run_valgrind "${2:-build}" ;;
*) echo "usage: $0 configure|asan|tsan|valgrind BUILD_DIR" >&2; exit 2 ;;
esac
