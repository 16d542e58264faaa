#!/bin/bash
# Smoke test of bench_proxy_kernel on this host, which has no kernel VFIO
# device: the target is a served V100 (vfio-user), its GPU RAM (region 9)
# the mapped "register". Both modes run with tiny counts; the test checks
# the JSON lines (a header, every figure with its medians) and that no
# proxy is left behind. Timing is never checked here.
# Usage: proxy_kernel_smoke.sh BENCH_PROXY_KERNEL VFIOKIT
# bash, not sh: dash leaks a trap string, which the valgrind run counts.
set -eu
bench=$1 vfiokit=$2
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

serve() { # serve SOCKET: a V100 on SOCKET, waited for
	"$vfiokit" serve v100 --socket "$1" -q >/dev/null &
	pids="$pids $!"
	for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
	echo "proxy_kernel_smoke: the server did not listen on $1" >&2
	exit 1
}

check() { # check MODE FILE: the lines a run printed
	python3 - "$1" "$2" <<'PY'
import json, sys
mode, path = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path)]
head, figs = lines[0], {l['figure']: l for l in lines[1:]}
assert head['bench'] == 'proxy' and head['mode'] == mode, head
assert head['device'] == '10de:1db1', head
paired = ['bar_load4', 'config_read4', 'dma_map_unmap', 'dma_map_unmap_batch']
single = ['direct_dma_map_unmap_mmap', 'floor_roundtrip', 'floor_roundtrip_fd']
assert sorted(figs) == sorted(paired + single), sorted(figs)
assert len(lines) == 1 + len(paired) + len(single), lines
for name, f in figs.items():
    keys = ('direct_median', 'proxy_median', 'direct_p99', 'proxy_p99', 'ratio') \
        if name in paired else ('median', 'p99')
    for k in keys:
        assert f[k] > 0, (name, k, f[k])
    assert f['samples'] > 0, f
assert figs['bar_load4']['verdict'] in ('met', 'MISSED')
print(f'proxy_kernel_smoke: {mode}: {len(figs)} figures')
PY
}

serve "$tmp/a.sock"
"$bench" -n 40 -r 2 --region 9 --vfiokit "$vfiokit" "$tmp/a.sock" >"$tmp/alt.out" &
bpid=$!
wait "$bpid"
cat "$tmp/alt.out"
check alternating "$tmp/alt.out"
# Every proxy the bench started has stopped and removed its socket.
[ ! -e "/tmp/bench-proxy-$bpid.sock" ] ||
	{ echo "proxy_kernel_smoke: the bench's proxy socket is left" >&2; exit 1; }
! pgrep -f "proxy $tmp/a.sock" >/dev/null ||
	{ echo "proxy_kernel_smoke: a proxy of the bench is still running" >&2; exit 1; }

serve "$tmp/b.sock"
"$vfiokit" proxy "$tmp/b.sock" --socket "$tmp/p.sock" -q >/dev/null 2>&1 &
pids="$pids $!"
for _ in $(seq 100); do [ -S "$tmp/p.sock" ] && break; sleep 0.05; done
"$bench" -n 100 --region 9 --pair "$tmp/a.sock" "$tmp/p.sock" >"$tmp/pair.out"
cat "$tmp/pair.out"
check pair "$tmp/pair.out"
