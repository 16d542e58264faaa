#!/usr/bin/env bash
# vfiokit mem for real registers (docs/models.md, "vfiokit mem"): widths
# 1/2/4/8 by setpci suffix or --width, several accesses on one connection
# (a read sees the writes before it; a second command sees a reset
# device), --json with 64-bit values also as hex strings, and one error
# line per thing the device cannot do. Against a real `serve dmaengine`
# (32-bit registers, 1- and 2-byte accesses refused) and `serve v100`
# (a byte-addressed register file, mappable GPU RAM).
# Usage: test_mem.sh VFIOKIT_BINARY
set -uo pipefail
vfiokit=$1
work=$(mktemp -d /tmp/vfk-mem-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

# run ARGS...: $out, $err and $rc of one vfiokit run.
run() {
	"$vfiokit" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out") err=$(cat "$work/err")
}

# prints NAME TEXT ARGS...: exit 0, stdout exactly TEXT, nothing on stderr.
prints() {
	local name=$1 text=$2
	shift 2
	run "$@"
	check "$name: exit 0" test "$rc" -eq 0
	check "$name: output" test "$out" = "$text"
	[ "$out" = "$text" ] || printf '# got:\n%s\n' "$out"
	check "$name: nothing on stderr" test -z "$err"
}

# refused NAME STATUS LINE ARGS...: exit STATUS, stderr exactly LINE.
refused() {
	local name=$1 status=$2 line=$3
	shift 3
	run "$@"
	check "$name: exit $status" test "$rc" -eq "$status"
	check "$name: says why in one line" test "$err" = "$line"
	[ "$err" = "$line" ] || printf '# got: %s\n' "$err"
}

wait_socket() {
	for _ in $(seq 400); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

cd "$work"
"$vfiokit" serve dmaengine --socket d.sock >/dev/null 2>&1 &
pids+=($!)
"$vfiokit" serve v100 aperture=64M bar1=16M --socket g.sock >/dev/null 2>&1 &
pids+=($!)
check "dmaengine serves" wait_socket d.sock
check "v100 serves" wait_socket g.sock

# --- widths ---------------------------------------------------------------
prints "dmaengine ID as .L" "read region 0 offset 0x0 via region: 0x444d4131" \
	mem d.sock 0x0.L
prints "--width 4 without a suffix" "read region 0 offset 0x0 via region: 0x444d4131" \
	mem --width 4 d.sock 0
prints "lower-case suffix" "read region 0 offset 0x0 via region: 0x444d4131" mem d.sock 0.l
prints "an address pair as .Q" "read region 0 offset 0x8 via region: 0x0000000000000000" \
	mem d.sock 0x8.Q
prints "default width 8 (the old form)" \
	"read region 0 offset 0x0 via region: 0x00000000444d4131" mem d.sock 0 read 0
prints "v100 scratch: every width" "wrote region 0 offset 0x1400 via region: 0x1122334455667788
read region 0 offset 0x1400 via region: 0x88
read region 0 offset 0x1401 via region: 0x77
read region 0 offset 0x1402 via region: 0x5566
read region 0 offset 0x1400 via region: 0x55667788
read region 0 offset 0x1400 via region: 0x0000000055667788" \
	mem g.sock 0x1400.Q=0x1122334455667788 0x1400.B 0x1401.B 0x1402.W 0x1400.L 0x1400.Q
prints "v100 scratch: byte and word writes" "wrote region 0 offset 0x1400 via region: 0x00000000
wrote region 0 offset 0x1401 via region: 0xab
wrote region 0 offset 0x1402 via region: 0xcdef
read region 0 offset 0x1400 via region: 0xcdefab00" \
	mem g.sock 0x1400.L=0 0x1401.B=0xab 0x1402.W=0xcdef 0x1400.L
prints "config space, --region 7, widths 1 2 4" "read region 7 offset 0x0 via region: 0x34
read region 7 offset 0x1 via region: 0x12
read region 7 offset 0x2 via region: 0x10d0
read region 7 offset 0x0 via region: 0x10d01234" \
	mem d.sock --region 7 0.B 1.B 2.W 0.L
prints "GPU RAM through a mapping, every width" \
	"wrote region 9 offset 0x10 via mmap: 0xffffffffffffffff
wrote region 9 offset 0x12 via mmap: 0x0000
wrote region 9 offset 0x17 via mmap: 0x01
read region 9 offset 0x10 via mmap: 0x01ffffff0000ffff
read region 9 offset 0x14 via mmap: 0x01ffffff
read region 9 offset 0x16 via mmap: 0x01ff" \
	mem --via mmap --region 9 g.sock 0x10.Q=0xffffffffffffffff 0x12.W=0 0x17.B=1 0x10.Q 0x14.L 0x16.W

# --- sequences on one connection ------------------------------------------
prints "write then read in one run" "wrote region 0 offset 0x4 via region: 0xdeadbeef
read region 0 offset 0x4 via region: 0xdeadbeef" mem d.sock 0x4.L=0xdeadbeef 0x4.L
prints "the engine's registers in one run" "wrote region 0 offset 0x18 via region: 0x00000040
wrote region 0 offset 0x28 via region: 0x00000002
read region 0 offset 0x24 via region: 0x00000002
wrote region 0 offset 0x2c via region: 0x00000002
read region 0 offset 0x24 via region: 0x00000000
read region 0 offset 0x18 via region: 0x00000040" \
	mem d.sock 0x18.L=64 0x28.L=2 0x24.L 0x2c.L=2 0x24.L 0x18.L
run mem d.sock 0x4.L=0x5
prints "a second command sees the device reset" \
	"read region 0 offset 0x4 via region: 0x00000000" mem d.sock 0x4.L
prints "GPU RAM is scrubbed between clients" \
	"read region 9 offset 0x10 via mmap: 0x0000000000000000" mem --via mmap --region 9 g.sock 0x10

# --- JSON -------------------------------------------------------------------
json_check() {
	python3 - "$work/out" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
exec(sys.argv[2])
PY
}
run mem --json --via mmap --region 9 g.sock 0x20.Q=0xfffffffffffffff1 0x20.Q 0x20.B
check "--json: exit 0" test "$rc" -eq 0
check "--json: parses, every field" json_check '
a = doc["accesses"]
assert doc["target"] == "g.sock" and doc["region"] == 9 and doc["via"] == "mmap", doc
assert "error" not in doc
assert [x["op"] for x in a] == ["write", "read", "read"], a
assert [x["width"] for x in a] == [8, 8, 1], a
assert a[1]["value"] == 0xfffffffffffffff1, a[1]
assert a[1]["value_hex"] == "0xfffffffffffffff1", a[1]
assert a[2]["value"] == 0xf1 and a[2]["value_hex"] == "0xf1", a[2]
assert a[0]["offset"] == 0x20 and a[0]["offset_hex"] == "0x20", a[0]
'
if command -v jq >/dev/null; then
	check "--json: jq keeps the 64-bit value as its hex string" \
		test "$(jq -r '.accesses[1].value_hex' "$work/out")" = 0xfffffffffffffff1
fi
run mem --json d.sock 0x4.L=7 0x4.W
check "--json with a refused access: exit 2" test "$rc" -eq 2
check "--json with a refused access: what was done, and the error" json_check '
a = doc["accesses"]
assert len(a) == 1 and a[0]["op"] == "write" and a[0]["value_hex"] == "0x00000007", a
assert doc["error"].startswith("region 0 offset 0x4: the device refused a 2-byte access"), doc
'

# --- errors -----------------------------------------------------------------
refused "a byte access to a 32-bit register" 2 \
	"vfiokit mem: d.sock: region 0 offset 0x0: the device refused a 1-byte access here (width or alignment not supported by this register)" \
	mem d.sock 0.B
refused "a word write to a 32-bit register" 2 \
	"vfiokit mem: d.sock: region 0 offset 0x4: the device refused a 2-byte access here (width or alignment not supported by this register)" \
	mem d.sock 0x4.W=1
refused "past the end, 4 bytes" 2 \
	"vfiokit mem: d.sock: region 0: offset 0xffe is past the end of a 0x1000 region (4 bytes from it needed)" \
	mem d.sock 0xffe.L
run mem d.sock 0x4.L=0x9 0x1000.B
check "a list with an access past the end does nothing" test -z "$out"
prints "...so the write before it was not done" \
	"read region 0 offset 0x4 via region: 0x00000000" mem d.sock 0x4.L
refused "no region N" 2 "vfiokit mem: d.sock: no region 12 (the device has 9)" \
	mem --region 12 d.sock 0.L
refused "an empty region" 2 "vfiokit mem: d.sock: region 4 is empty (size 0)" \
	mem --region 4 d.sock 0.L
refused "region not mappable" 2 "vfiokit mem: d.sock: region 0 not mappable (try --via region)" \
	mem --via mmap d.sock 0.L
refused "a mapped access not aligned" 2 \
	"vfiokit mem: g.sock: region 9: offset 0x11 is not a multiple of 2 (a mapped access must be aligned to its width; try --via region)" \
	mem --via mmap --region 9 g.sock 0x11.W
refused "a bad suffix" 2 "vfiokit mem: width X: expected B, W, L or Q (1, 2, 4 or 8 bytes)" \
	mem d.sock 0x4.X
refused "a bad --width" 2 "vfiokit mem: --width 3: expected 1, 2, 4 or 8 (or B, W, L, Q)" \
	mem --width 3 d.sock 0
refused "a value wider than the access" 2 \
	"vfiokit mem: VALUE 0x100: expected a number from 0 to 0xff (1 byte)" mem d.sock 0x4.B=0x100
refused "a 32-bit value" 2 \
	"vfiokit mem: VALUE 0x100000000: expected a number from 0 to 0xffffffff (4 bytes)" \
	mem d.sock 0x4.L=0x100000000
refused "not an access" 2 "vfiokit mem: access peek: expected OFFSET[.B|.W|.L|.Q][=VALUE]" \
	mem d.sock peek
refused "a bad OFFSET with a suffix" 2 \
	"vfiokit mem: OFFSET zz: expected a number from 0 to 2^64-1 (0x, K/M/G/T)" mem d.sock zz.L
refused "a bad --region" 2 "vfiokit mem: --region x: expected an index from 0 to 4294967295" \
	mem --region x d.sock 0
refused "REGION and a different --region" 2 "vfiokit mem: REGION 0 and --region 7: give one" \
	mem --region 7 d.sock 0 read 0
prints "REGION and the same --region" \
	"read region 7 offset 0x0 via region: 0x10d01234" mem --region 7 --width 4 d.sock 7 read 0
refused "no access" 2 \
	"vfiokit mem: expected TARGET and at least one ACCESS (see 'vfiokit mem --help')" mem d.sock
run mem --help
check "--help tells that the device resets when the client leaves" \
	grep -q "reset when its client leaves" "$work/out"
cd - >/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
