#!/usr/bin/env bash
# The vfiokit demo: serve a POWER9 Witherspoon-like machine (2 V100 GPUs,
# 2 NPU2 NVLink bridges each) over vfio-user, inspect it with the client
# tools, store through a mapping of GPU RAM and read it back through
# REGION_READ, then stop, leaving nothing behind.
# Usage: scripts/demo.sh BUILD_DIR   (make demo builds first)
set -euo pipefail

build=${1:-build}
vfiokit=$(cd "$build" && pwd)/src/cli/vfiokit
[ -x "$vfiokit" ] || { echo "demo: $vfiokit not built (run make build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vfiokit-demo-XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

heading() { printf '\n== %s ==\n' "$*"; }
run() { printf '$ vfiokit %s\n' "$*"; "$vfiokit" "$@"; }

heading "Starting the default machine: 2 V100 GPUs, 2 NPU2 bridges each"
"$vfiokit" serve --dir "$work/sockets" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
sockets=(gpu0 gpu0-nvlink0 gpu0-nvlink1 gpu1 gpu1-nvlink0 gpu1-nvlink1)
for _ in $(seq 100); do
	ready=1
	for s in "${sockets[@]}"; do [ -S "$work/sockets/$s.sock" ] || ready=0; done
	[ $ready = 1 ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
	sleep 0.05
done
[ $ready = 1 ] || { echo "demo: sockets did not appear" >&2; exit 1; }
sed "s|$work/sockets|\$SOCKETS|g" "$work/serve.out"
echo "(SOCKETS=$work/sockets)"
cd "$work/sockets"

if "$vfiokit" help | grep -q '^  info '; then
	heading "A GPU as any VFIO client sees it"
	run info gpu0.sock
	heading "One of its NVLink bridges"
	run info gpu0-nvlink0.sock
else
	heading "vfiokit info is not part of this build; skipping the device listings"
fi

heading "NVLink2 topology, from the regions' capabilities"
run topology "${sockets[@]/%/.sock}"

heading "The same as the guest device tree QEMU's POWER machine built (excerpt)"
"$vfiokit" topology --dts "${sockets[@]/%/.sock}" >"$work/nvlink.dts"
printf '$ vfiokit topology --dts ... > nvlink.dts\n'
# GPU 0's coherent memory node and its first bridge, as dtc source.
sed -n '/gpuram0: memory@/,/};/p; /bridge1: /,/};/p' "$work/nvlink.dts"
if command -v dtc >/dev/null; then
	dtc -q -I dts -O dtb -o "$work/nvlink.dtb" "$work/nvlink.dts" &&
		echo "(dtc compiles the whole fragment: $(stat -c %s "$work/nvlink.dtb") bytes of DTB)"
fi

heading "GPU RAM: a store through the mapped region; the next client finds it empty"
last_page=$(printf '0x%x' $(( (128 << 30) - 4096 )))
run mem --via mmap gpu0.sock 9 write "$last_page" 0x5ca1ab1e0ddba11
run mem --via region gpu0.sock 9 read "$last_page"
echo "(offset $last_page is the last page of the 128 GiB aperture; the memfd"
echo " behind it stays sparse: only the pages touched cost memory. Each"
echo " vfiokit mem is a client of its own, and a client that leaves takes its"
echo " data with it: the device's memory is scrubbed for the next one)"

heading "Stopping the server"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=
[ -z "$(ls -A "$work/sockets")" ] && echo "sockets removed; nothing left behind"
