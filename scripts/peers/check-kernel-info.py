#!/usr/bin/env python3
"""check-kernel-info.py < SERIAL: check what the guest's kernel vfio-pci told
`vfiokit info` (tests/peers/kernel-vfio-info.sh) about QEMU 7.2's e1000e,
nvme and edu. The guest prints `J: ID <json line>` and `G: ID ...` lines.
Prints every difference; exit 0 when there are none."""
import collections
import json
import subprocess
import sys
import tempfile

RW = ["READ", "WRITE"]
RWM = RW + ["MMAP"]
INTX = ["EVENTFD", "MASKABLE", "AUTOMASKED"]
VEC = ["EVENTFD", "NORESIZE"]

# Per device: PCI ids and class, device flags, config size, the regions
# present (index: flags, size, caps), and the IRQ counts (None: -EINVAL).
EXPECTED = {
    "0x8086:0x10d3": {  # e1000e
        "pci": (0x8086, 0x10D3, 0x020000), "flags": ["RESET", "PCI"],
        "regions": {0: (RWM, 0x20000, []), 1: (RWM, 0x20000, []), 2: (RW, 0x20, []),
                    3: (RWM + ["CAPS"], 0x4000, ["MSIX_MAPPABLE"]),
                    6: (["READ"], 0x40000, []), 7: (RW, 0x1000, [])},
        "irqs": [1, 1, 5, 1, 1],
    },
    "0x1b36:0x0010": {  # nvme
        "pci": (0x1B36, 0x0010, 0x010802), "flags": ["RESET", "PCI"],
        "regions": {0: (RWM + ["CAPS"], 0x4000, ["MSIX_MAPPABLE"]), 7: (RW, 0x1000, [])},
        "irqs": [1, 0, 65, 1, 1],
    },
    "0x1234:0x11e8": {  # edu: no reset method, not PCIe (no ERR index)
        "pci": (0x1234, 0x11E8, 0x00FF00), "flags": ["PCI"],
        "regions": {0: (RWM, 0x100000, []), 7: (RW, 0x100, [])},
        "irqs": [1, 1, 0, None, 1],
    },
}
# `vfiokit selftest edu` through the kernel backend: type1 DMA map, MSI.
EDU_LINE = "selftest: edu copied 2048 bytes to the device and back, 2 MSIs ok"


def check_region(dev, r, want, errors):
    flags, size, caps = want
    got_caps = [c["name"] for c in r["caps"]]
    if r["flag_names"] != flags or r["size"] != size or got_caps != caps:
        errors.append(f"{dev} region {r['index']}: {r['flag_names']} {r['size']:#x} {got_caps},"
                      f" expected {flags} {size:#x} {caps}")
    # The kernel answers 32 bytes first and asks for 40 when caps follow:
    # the client must have retried with the larger argsz.
    retry = (40, 2) if caps else (32, 1)
    if (r["argsz"], r["info_calls"]) != retry:
        errors.append(f"{dev} region {r['index']}: argsz {r['argsz']} in {r['info_calls']}"
                      f" calls, expected {retry[0]} in {retry[1]}")


def check_device(dev, d, want, errors):
    if d["backend"] != "kernel":
        errors.append(f"{dev}: backend {d['backend']}")
    info = d["device"]
    if info["flag_names"] != want["flags"] or info["num_regions"] != 9 or info["num_irqs"] != 5:
        errors.append(f"{dev}: device info {info}")
    present = {r["index"]: r for r in d["regions"] if r["size"] or r["flags"]}
    if sorted(present) != sorted(want["regions"]):
        errors.append(f"{dev}: regions {sorted(present)}, expected {sorted(want['regions'])}")
    for index, r in present.items():
        if index in want["regions"]:
            check_region(dev, r, want["regions"][index], errors)
    if any(r["index"] == 8 for r in d["regions"]):
        errors.append(f"{dev}: a VGA region 8 is listed")
    counts = [i.get("count") if "error" not in i else None for i in d["irqs"]]
    if counts != want["irqs"]:
        errors.append(f"{dev}: IRQ counts {counts}, expected {want['irqs']}")
    if d["irqs"][0].get("flag_names") != INTX or any(
            i.get("flag_names", VEC) != VEC for i in d["irqs"][1:]):
        errors.append(f"{dev}: IRQ flags {[i.get('flag_names') for i in d['irqs']]}")
    p = d["pci"]
    if (p["vendor_id"], p["device_id"], p["class_code"]) != want["pci"]:
        errors.append(f"{dev}: config space ids {p['vendor_id']:#x}:{p['device_id']:#x}"
                      f" class {p['class_code']:#x}")
    if p["config_size"] != want["regions"][7][1]:
        errors.append(f"{dev}: {p['config_size']} config bytes read")


def check_kernel(dev, d, lines, errors):
    """-k: the driver and IOMMU group sysfs gave the guest ("sysfs BDF group N")."""
    sysfs = [l.split() for l in lines if l.startswith(f"{dev} sysfs ")]
    if len(sysfs) != 1:
        errors.append(f"{dev}: no 'sysfs BDF group N' line")
        return
    bdf, group = sysfs[0][2], int(sysfs[0][4])
    want = {"pci_address": bdf, "driver": "vfio-pci", "iommu_group": group}
    if d.get("kernel") != want:
        errors.append(f"{dev}: info --json -k kernel {d.get('kernel')}, expected {want}")
    for line in (f"{dev} k: Kernel driver in use: vfio-pci", f"{dev} k: IOMMU group: {group}",
                 f"{dev} kg: IOMMU group: {group}",
                 f"{dev} kg: IOMMU group device {bdf}: kernel driver in use: vfio-pci"):
        if line not in lines:
            errors.append(f"{dev}: no '{line}' line from info -k")


def check_dump(dev, dump, want, errors):
    """info BDF -x read by lspci -F: one device, at BDF, with the ids the kernel gave."""
    bdf = dump[0].split(" ", 1)[0] if dump else "?"
    with tempfile.NamedTemporaryFile("w", suffix=".dump") as f:
        f.write("\n".join(dump) + "\n")
        f.flush()
        try:
            out = subprocess.run(["lspci", "-n", "-F", f.name], capture_output=True, text=True,
                                 check=True).stdout.splitlines()
        except (OSError, subprocess.CalledProcessError) as e:
            errors.append(f"{dev}: lspci -F on info -x output: {e}")
            return
    ids = f"{want['pci'][0]:04x}:{want['pci'][1]:04x}"
    if len(out) != 1 or not out[0].startswith(bdf[5:] + " ") or ids not in out[0]:
        errors.append(f"{dev}: lspci -F read {out} from info -x, expected {bdf} {ids}")


def main():
    docs, lines, dumps = collections.defaultdict(list), set(), collections.defaultdict(list)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.startswith("J: "):
            _, dev, rest = line.split(" ", 2)
            docs[dev].append(rest)
        elif line.startswith("G: "):
            lines.add(line[3:])
        elif line.startswith("X: "):
            _, dev, rest = line.split(" ", 2) + [""] * (3 - len(line.split(" ", 2)))
            dumps[dev].append(rest)
    errors = []
    if EDU_LINE not in lines:
        errors.append(f"no '{EDU_LINE}' line: the edu DMA/MSI selftest failed")
    for dev, want in EXPECTED.items():
        if f"{dev} region 8: absent (Invalid argument)" not in lines:
            errors.append(f"{dev}: no 'region 8: absent (Invalid argument)' line")
        if dev not in docs:
            errors.append(f"{dev}: no JSON from the guest")
            continue
        try:
            d = json.loads("\n".join(docs[dev]))
            check_device(dev, d, want, errors)
            check_kernel(dev, d, lines, errors)
            check_dump(dev, dumps[dev], want, errors)
        except (ValueError, KeyError, IndexError, TypeError) as e:
            errors.append(f"{dev}: unreadable JSON ({e!r})")
    for e in errors:
        print("check-kernel-info:", e, file=sys.stderr)
    print(f"check-kernel-info: {len(EXPECTED)} devices, {len(errors)} differences", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
