#!/usr/bin/env bash
# The nvlink2 subdriver in `vfiokit proxy`, on vfio-user targets served by
# `vfiokit serve` (the V100 and NPU2 models): the regions it adds, their
# info and capabilities as the fixture (dt-fixture/, README.md) says; the
# target's own regions untouched; a broken device tree refused in one
# line before anything is served.
# Usage: test_nvlink2_proxy.sh VFIOKIT_BINARY FIXTURE
set -uo pipefail
vfiokit=$1
fixture=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/vfk-nvl2-XXXXXX)
. "$(dirname "$0")/../../shell_checks.sh"

wait_socket() {
	for _ in $(seq 400); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

# proxy NAME TARGET SUBDRIVER: a proxy of TARGET on NAME.sock
proxy() {
	"$vfiokit" proxy "$2" --socket "$1.sock" --subdriver "$3" -v >/dev/null 2>"$1.log" &
	pids+=($!)
	wait_socket "$1.sock"
}

# region JSON INDEX: "flags size caps..." of one region of an info --json
region() {
	python3 -c '
import json, sys
info = json.load(open(sys.argv[1]))
for r in info["regions"]:
    if r["index"] == int(sys.argv[2]):
        caps = []
        for c in r["caps"]:
            caps.append(c["name"] + ("" if "type" not in c else " %#x/%d" % (c["type"], c["subtype"]))
                        + ("" if "tgt" not in c else " %#x" % c["tgt"])
                        + ("" if "link_speed" not in c else " %d" % c["link_speed"]))
        print(" ".join(r["flag_names"]), hex(r["size"]), ", ".join(caps))
' "$1" "$2"
}

# regions JSON: the number of regions the device reports
regions() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device"]["num_regions"])' "$1"; }

cd "$work"
"$vfiokit" serve v100 --socket gpu.sock >/dev/null 2>&1 &
pids+=($!)
"$vfiokit" serve npu2 --socket npu.sock >/dev/null 2>&1 &
pids+=($!)
# a second GPU and bridge for more proxies (a target takes one client)
"$vfiokit" serve v100 --socket gpu2.sock >/dev/null 2>&1 &
pids+=($!)
"$vfiokit" serve npu2 --socket npu2.sock >/dev/null 2>&1 &
pids+=($!)
check "the models serve" wait_socket gpu.sock
wait_socket npu.sock && wait_socket gpu2.sock && wait_socket npu2.sock
"$vfiokit" info gpu.sock --json >gpu-direct.json
"$vfiokit" info npu.sock --json >npu-direct.json

# The GPU: region 10 added (the model has its own GPU RAM at 9, left as is).
check "GPU proxy starts" proxy pgpu gpu.sock "nvlink2,dt=$fixture,node=/pci@0/3d-controller@4"
"$vfiokit" info pgpu.sock --json >pgpu.json
check "GPU: one region more" test "$(regions pgpu.json)" = $(($(regions gpu-direct.json) + 1))
check "GPU: region 9 is the target's" test "$(region pgpu.json 9)" = "$(region gpu-direct.json 9)"
check "GPU: region 10 is GPU RAM from the fixture" test "$(region pgpu.json 10)" = \
	"READ WRITE MMAP CAPS 0x2000000000 TYPE 0x800010de/1, NVLINK2_SSATGT 0x3c000000000"
check "GPU: the log names the stand-in memory" \
	grep -q 'GPU RAM region 10 .*stand-in memory, not the GPU RAM at 0x240000000000' pgpu.log
# The added GPU RAM maps and keeps what was written while the client stays.
mmap_write() { "$vfiokit" mem --via mmap pgpu.sock 10 write 0x1000 0x1122334455667788 >/dev/null; }
check "GPU: region 10 maps" mmap_write

# The bridge: ATSD region 10, link 1's register.
check "bridge proxy starts" proxy pnpu npu.sock "nvlink2,dt=$fixture,node=pci@0/bridge@5"
"$vfiokit" info pnpu.sock --json >pnpu.json
check "bridge: region 10 is ATSD from the fixture" test "$(region pnpu.json 10)" = \
	"READ WRITE MMAP CAPS 0x1000 TYPE 0x80001014/1, NVLINK2_SSATGT 0x3c000000000, NVLINK2_LNKSPD 9"
check "bridge: region 9 is the target's" test "$(region pnpu.json 9)" = "$(region npu-direct.json 9)"

# topology pairs the proxied bridge with the proxied GPU by the fixture's tgt
# (the models' own regions pair with each other at tgt 0x3e000000000).
"$vfiokit" topology pgpu.sock pnpu.sock >topo.txt 2>&1
check "topology runs on both proxies" grep -q '^GPU pgpu.sock' topo.txt

# No ATSD list on the PHB: a size-0 ATSD region with both caps, and a warning.
cp -R "$fixture" noatsd && rm noatsd/pci@0/ibm,mmio-atsd
check "bridge without ATSD starts" proxy pnone npu2.sock "nvlink2,dt=$work/noatsd,node=pci@0/bridge@5"
"$vfiokit" info pnone.sock --json >pnone.json
check "bridge without ATSD: size 0, caps kept" test "$(region pnone.json 10)" = \
	"READ WRITE MMAP CAPS 0x0 TYPE 0x80001014/1, NVLINK2_SSATGT 0x3c000000000, NVLINK2_LNKSPD 9"
check "bridge without ATSD: warned" grep -q 'no ibm,mmio-atsd' pnone.log

# refused NAME TREE NODE TARGET LINE: the proxy exits non-zero with LINE
# alone on stderr, and leaves no socket behind.
refused() {
	local err rc
	err=$(timeout 10 "$vfiokit" proxy "$4" --socket bad.sock \
		--subdriver "nvlink2,dt=$2,node=$3" 2>&1 >/dev/null)
	rc=$?
	check "$1: refused" test "$rc" -ne 0 -a "$rc" -ne 124
	check "$1: one line" test "$err" = "$5"
	check "$1: no socket left" test ! -e bad.sock
}

cp -R "$fixture" broken && rm broken/pci@0/bridge@5/ibm,device-tgt-addr
refused "tgt missing" "$work/broken" pci@0/3d-controller@4 gpu2.sock \
	"vfiokit proxy: nvlink2: device tree: /pci@0/bridge@5 has no property ibm,device-tgt-addr"
printf '\0\0' >broken/memory@240000000000/reg
refused "RAM reg short" "$work/broken" pci@0/3d-controller@4 gpu2.sock \
	"vfiokit proxy: nvlink2: device tree: /memory@240000000000/reg is 2 bytes, want 16 (address, size)"
refused "no such node" "$fixture" pci@0/none gpu2.sock \
	"vfiokit proxy: nvlink2: device tree: no node /pci@0/none"
refused "no such tree" "$work/none" pci@0 gpu2.sock \
	"vfiokit proxy: nvlink2: device tree $work/none: No such file or directory"
err=$("$vfiokit" proxy gpu2.sock --socket bad.sock --subdriver "nvlink2,dt=$fixture" 2>&1)
check "a socket target needs node=" test "$err" = \
	"vfiokit proxy: nvlink2: gpu2.sock is no PCI address: name the device's node with node=PATH"
# Without dt= the running system's tree is read; an x86 host has none.
if [ ! -e /sys/firmware/devicetree/base ]; then
	err=$("$vfiokit" proxy gpu2.sock --socket bad.sock --subdriver nvlink2 2>&1)
	check "no device tree on this system: one line" test "$err" = \
		"vfiokit proxy: nvlink2: this system has no device tree (/sys/firmware/devicetree/base): not a POWER host? Give one with dt=DIR"
fi
cd - >/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
