#!/usr/bin/env bash
# Fuzz one libFuzzer target for $FUZZ_SECONDS seconds (default 20), starting
# from its committed seeds. New inputs go to WORKDIR/corpus, never into the
# committed seeds; a crash leaves WORKDIR/crash-* and fails (exit 1).
# Usage: run-target.sh FUZZER SEED_DIR WORKDIR
set -uo pipefail
fuzzer=$1 seeds=$2 work=$3
secs=${FUZZ_SECONDS:-20}
mkdir -p "$work/corpus"
# -timeout: an input running 10 s is a hang, reported like a crash.
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len="${FUZZ_MAX_LEN:-65536}" -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
	echo "run-target: $(basename "$fuzzer") failed (exit $rc); inputs: $work/crash-* $work/timeout-* $work/leak-*" >&2
	echo "run-target: reproduce with: $fuzzer <input>; then add the input to $seeds" >&2
	exit 1
fi
