#!/usr/bin/env python3
"""Judge tests/peers/kernel-proxy-nvlink2.sh's guest console (stdin).

Arguments: the host's `vfiokit info --region 9 --json` of the served GPU
and bridge, the host's `vfiokit topology` output, and the host's socket
folder (with trailing '/', replaced in the topology's names). Guest lines:
"G: ..." facts, "J: gpu|npu ..." the proxies' region 9 JSON, "T: ..." the
proxies' topology.
"""
import collections
import json
import sys

# A region's fields that depend on the server, not on the device: the
# offset (each server lays out its own fd), argsz and the request count.
SERVER_FIELDS = ("offset", "argsz", "info_calls", "mmap_fd")


def region9(doc):
    regions = [r for r in doc["regions"] if r["index"] == 9]
    if len(regions) != 1:
        return None
    return {k: v for k, v in regions[0].items() if k not in SERVER_FIELDS}


def main():
    host = {"gpu": json.load(open(sys.argv[1])), "npu": json.load(open(sys.argv[2]))}
    host_topo = open(sys.argv[3]).read().splitlines()
    host_dir = sys.argv[4]
    docs, guest, topo = collections.defaultdict(list), [], []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.startswith("J: "):
            _, dev, rest = line.split(" ", 2)
            docs[dev].append(rest)
        elif line.startswith("G: "):
            guest.append(line[3:])
        elif line.startswith("T: "):
            topo.append(line[3:])
    errors = []
    for b in ("0000:00:04.0", "0000:00:05.0"):
        if f"{b} through QEMU: 9 regions, region 9 absent" not in guest:
            errors.append(f"{b}: QEMU was expected to drop region 9 (the guest's vfio-pci "
                          "reports 9 regions)")
    for dev in ("gpu", "npu"):
        if dev not in docs:
            errors.append(f"{dev}: no info through the proxy")
            continue
        got, want = region9(json.loads("\n".join(docs[dev]))), region9(host[dev])
        if got != want:
            errors.append(f"{dev}: region 9 through the proxy {got}, the host served {want}")
    names = {host_dir + "gpu0.sock": "/tmp/gpu.sock", host_dir + "npu0.sock": "/tmp/npu.sock"}
    want_topo = []
    for line in host_topo:
        for a, b in names.items():
            line = line.replace(a, b)
        want_topo.append(line)
    if topo != want_topo:
        errors.append(f"topology in the guest {topo}, on the host {want_topo}")
    if "topology exit 0" not in guest:
        errors.append("topology on the proxies did not exit 0")
    for e in errors:
        print(f"check-kernel-proxy-nvlink2: {e}", file=sys.stderr)
    print(f"check-kernel-proxy-nvlink2: {len(errors)} differences")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
