#!/usr/bin/env bash
# vfiokit serve / topology / mem end to end, and scripts/demo.sh.
# Usage: test_cli.sh VFIOKIT_BINARY SOURCE_DIR BUILD_DIR
set -uo pipefail
vfiokit=$1 src=$2 build=$3
work=$(mktemp -d /tmp/vfk-cli-XXXXXX)
. "$(dirname "$0")/../shell_checks.sh"

wait_sockets() {
	for _ in $(seq 100); do
		local all=1
		for s in "$@"; do [ -S "$s" ] || all=0; done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
	return 1
}

# --- serve --config with a JSON machine: one GPU, one good bridge, one stray
mkdir "$work/cfg"
cat >"$work/cfg/machine.json" <<'JSON'
{ "devices": [
  { "name": "gpu", "model": "v100", "socket": "gpu.sock",
    "options": { "tgt": "0x42000000000", "aperture": "1G" } },
  { "name": "link", "model": "npu2", "socket": "link.sock",
    "options": { "tgt": "0x42000000000", "link_speed": 8, "atsd": false } },
  { "name": "stray", "model": "npu2", "socket": "stray.sock",
    "options": { "tgt": "0x1234" } } ] }
JSON
"$vfiokit" serve --config "$work/cfg/machine.json" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
pids+=("$serve_pid")
check "serve --config opens every socket" wait_sockets "$work/cfg/gpu.sock" "$work/cfg/link.sock" "$work/cfg/stray.sock"
check "serve prints the QEMU -device line" grep -qF -e "-device '{\"driver\":\"vfio-user-pci\",\"socket\":{\"path\":\"$work/cfg/gpu.sock\",\"type\":\"unix\"}}'" "$work/serve.out"
check "serve prints the shared-memory reminder" grep -q "memory-backend-memfd.*share=on" "$work/serve.out"

cd "$work/cfg"
"$vfiokit" topology gpu.sock link.sock >"$work/topo.out" 2>"$work/topo.err"
check "topology of a consistent pair exits 0" test $? -eq 0
check "topology shows the aperture" grep -q "RAM   1 GiB aperture" "$work/topo.out"
check "topology shows the link, speed and no ATSD" grep -q "link  link.sock  speed 0x8  ATSD none" "$work/topo.out"

"$vfiokit" topology gpu.sock link.sock stray.sock >"$work/topo.out" 2>"$work/topo.err"
check "topology with a stray bridge exits 1" test $? -eq 1
check "topology names the stray bridge" grep -q "inconsistent: bridge stray.sock: tgt 0x0000000000001234 matches no GPU" "$work/topo.err"

"$vfiokit" topology gpu.sock gpu.sock link.sock >/dev/null 2>"$work/topo.err"
check "topology with two GPUs of one tgt exits 1" test $? -eq 1
check "topology reports the shared tgt" grep -q "report the same tgt 0x0000042000000000" "$work/topo.err"

"$vfiokit" topology --dts gpu.sock link.sock >"$work/n.dts" 2>/dev/null
check "topology --dts output compiles with dtc" dtc -q -I dts -O dtb -o "$work/n.dtb" "$work/n.dts"
check "the DTS carries the tgt" grep -q "ibm,device-tgt-addr = <0x420 0x0>;" "$work/n.dts"

check "mem: a store through mmap" \
	grep -q "0x1122334455667788" <("$vfiokit" mem --via mmap gpu.sock 9 write 0x3ffff000 0x1122334455667788)
# Each invocation is a client of its own: the next one finds GPU RAM empty.
check "mem: the next client reads GPU RAM as zero" \
	grep -q "0x0000000000000000" <("$vfiokit" mem --via region gpu.sock 9 read 0x3ffff000)
check "mem: zero-size ATSD refuses mmap" fails "$vfiokit" mem --via mmap link.sock 9 read 0 2>/dev/null
cd - >/dev/null

kill -TERM "$serve_pid"; wait "$serve_pid"
check "serve exits 0 on SIGTERM" test $? -eq 0
check "serve removes its sockets" test -z "$(ls "$work/cfg" | grep sock)"

# --- socket activation: the socket is bound by the parent, the fd inherited
python3 - "$vfiokit" "$work/act.sock" "$work/act.out" <<'PY' &
import os, socket, sys
vfiokit, path, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(4)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
pid = os.fork()
if pid == 0:
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="npu2")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.execv(vfiokit, [vfiokit, "serve", "npu2", "tgt=0x99"])
os.waitpid(pid, 0)
PY
act_pid=$!
pids+=("$act_pid")
for _ in $(seq 100); do grep -q "act.sock" "$work/act.out" 2>/dev/null && break; sleep 0.05; done
check "socket activation: serve uses the inherited fd" grep -q "\"path\":\"$work/act.sock\"" "$work/act.out"
"$vfiokit" topology "$work/act.sock" >/dev/null 2>"$work/act.err"
check "socket activation: the device answers on it" grep -q "tgt 0x0000000000000099 matches no GPU" "$work/act.err"
pkill -TERM -P "$act_pid" 2>/dev/null
wait "$act_pid"

# --- the -device line pastes into a shell and its JSON parses, whatever
# the path holds; a relative --socket is printed absolute (QEMU's cwd differs)
odd="$work/a dir \"with\" \\ and 'quotes'"
mkdir "$odd"
(cd "$odd" && exec "$vfiokit" serve dmaengine --socket d.sock) >"$work/odd.out" 2>&1 &
pids+=($!)
check "serve on an odd path starts" wait_sockets "$odd/d.sock"
device_option_ok() {
	local line
	line=$(grep -e "-device" "$work/odd.out") || return 1
	eval "set -- $line" || return 1
	[ $# = 2 ] && [ "$1" = -device ] && python3 -c '
import json, sys
want = {"driver": "vfio-user-pci", "socket": {"path": sys.argv[2], "type": "unix"}}
sys.exit(json.loads(sys.argv[1]) != want)' "$2" "$odd/d.sock"
}
check "the -device line of an odd, relative path is one shell word of JSON with the absolute path" \
	device_option_ok

# --- a machine file named relative to the working directory: its sockets'
# paths are printed without a "./" step
mkdir "$work/rel"
sed 's/gpu.sock/relgpu.sock/; s/link.sock/rellink.sock/; s/stray.sock/relstray.sock/' \
	"$work/cfg/machine.json" >"$work/rel/machine.json"
(cd "$work/rel" && exec "$vfiokit" serve --config machine.json) >"$work/rel.out" 2>&1 &
pids+=($!)
check "serve --config with a relative file starts" wait_sockets "$work/rel/relgpu.sock"
check "its -device line is the plain absolute path" \
	grep -qF -e "\"path\":\"$work/rel/relgpu.sock\"" "$work/rel.out"

# --- an option given twice is refused, not the last one taken
timeout 20 "$vfiokit" serve v100 tgt=0x1 aperture=1G tgt=0x2 --socket "$work/twice.sock" \
	>/dev/null 2>"$work/twice.err"
check "an option given twice: exit 2 (bad input)" test $? -eq 2
check "an option given twice is named" grep -q "option 'tgt' given twice" "$work/twice.err"
check "an option given twice: no socket" test ! -e "$work/twice.sock"

# --- DMA limits: bad values are usage errors; good ones serve
"$vfiokit" serve --max-dma-maps 0 dmaengine --socket "$work/lim.sock" >/dev/null 2>"$work/lim.err"
check "--max-dma-maps 0 exits 2" test $? -eq 2
check "--max-dma-maps 0 names the option" grep -q -- "--max-dma-maps 0: expected" "$work/lim.err"
"$vfiokit" serve --max-dma-bytes 1Q dmaengine --socket "$work/lim.sock" >/dev/null 2>"$work/lim.err"
check "--max-dma-bytes 1Q exits 2" test $? -eq 2
"$vfiokit" serve --max-dma-maps 16 --max-dma-bytes 64M dmaengine --socket "$work/lim.sock" \
	>/dev/null 2>&1 &
lim_pid=$!
pids+=("$lim_pid")
check "serve with DMA limits starts" wait_sockets "$work/lim.sock"
check "and answers" "$vfiokit" info "$work/lim.sock" >/dev/null
kill -TERM "$lim_pid"
wait "$lim_pid"

# --- the demo, end to end
"$src/scripts/demo.sh" "$build" >"$work/demo.out" 2>&1
check "demo.sh exits 0" test $? -eq 0
for want in "== Starting the default machine" "vfio-user-pci" "NVLink2 topology" \
	"GPU gpu1.sock" "link  gpu1-nvlink1.sock  speed 0x9" "ibm,device-tgt-addr" \
	"via mmap: 0x05ca1ab1e0ddba11" "via region: 0x0000000000000000" "nothing left behind"; do
	check "demo output has '$want'" grep -qF "$want" "$work/demo.out"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
