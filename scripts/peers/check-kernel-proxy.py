#!/usr/bin/env python3
"""Judge tests/peers/kernel-proxy.sh's guest console (stdin, CRs removed).

"J: KIND DEVICE ..." lines are `vfiokit info --json` output, one JSON
document per (KIND, DEVICE): D the device itself (kernel backend), P
through `vfiokit proxy`, X through the proxy with the example-region
subdriver. "G: ..." lines are the other checks' results.
"""
import collections
import json
import re
import sys

DEVICES = ("e1000e", "nvme", "edu")
EDU_ID = "selftest: edu id 0x010000ed read through a mapping of BAR0"
EDU_COPY = "selftest: edu copied 2048 bytes to the device and back, 2 MSIs ok"
# What a proxy answers differently by nature: the client's own view.
CLIENT_FIELDS = ("backend", "target")


def read_console(lines):
    docs, guest = collections.defaultdict(list), []
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("J: "):
            parts = line.split(" ", 3)
            docs[(parts[1], parts[2])].append(parts[3] if len(parts) > 3 else "")
        elif line.startswith("G: "):
            guest.append(line[3:])
    return {k: json.loads("\n".join(v)) for k, v in docs.items()}, guest


def flat(obj, path=""):
    """Every leaf of a JSON document as (path, value)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flat(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flat(v, f"{path}/{i}")
    else:
        yield path, obj


def differences(a, b):
    """(path, value in a, value in b) for every leaf that differs or is missing."""
    fa, fb = dict(flat(a)), dict(flat(b))
    return [(k, fa.get(k, "(absent)"), fb.get(k, "(absent)"))
            for k in sorted(set(fa) | set(fb))
            if k not in fa or k not in fb or fa[k] != fb[k]]


def without(doc, keys):
    return {k: v for k, v in doc.items() if k not in keys}


def cap_names(doc, index):
    for r in doc["regions"]:
        if r["index"] == index:
            return [c["name"] for c in r["caps"]]
    return None


def check_info(docs, errors):
    for dev in DEVICES:
        d, p = docs.get(("D", dev)), docs.get(("P", dev))
        if d is None or p is None:
            errors.append(f"{dev}: no info {'direct' if d is None else 'through the proxy'}")
            continue
        if p.get("backend") != "vfio-user":
            errors.append(f"{dev}: the proxy was not reached over vfio-user")
        for path, want, got in differences(without(d, CLIENT_FIELDS), without(p, CLIENT_FIELDS)):
            errors.append(f"{dev}: {path}: the kernel says {want}, the proxy {got}")
    # the MSIX_MAPPABLE caps the issue names, explicitly
    for dev, index in (("e1000e", 3), ("nvme", 0)):
        p = docs.get(("P", dev))
        if p and "MSIX_MAPPABLE" not in (cap_names(p, index) or []):
            errors.append(f"{dev}: region {index} has no MSIX_MAPPABLE through the proxy")
    check_subdriver(docs, errors)


def check_subdriver(docs, errors):
    """With example-region: the proxy's answer plus one region, nothing else."""
    p, x = docs.get(("P", "edu")), docs.get(("X", "edu"))
    if p is None or x is None:
        errors.append("edu: no info with the example-region subdriver")
        return
    added = [r for r in x["regions"] if r["index"] >= 9]
    base = dict(x, regions=[r for r in x["regions"] if r["index"] < 9],
                device=dict(x["device"], num_regions=p["device"]["num_regions"]))
    for path, want, got in differences(p, base):
        errors.append(f"edu with example-region: {path}: {want} without it, {got} with it")
    if x["device"]["num_regions"] != p["device"]["num_regions"] + 1 or len(added) != 1:
        errors.append("edu with example-region: not exactly one region added")
    elif added[0]["size"] != 8192 or cap_names(x, added[0]["index"])[:1] != ["TYPE"]:
        errors.append(f"edu with example-region: region {added[0]['index']} is not the "
                      f"8 KiB one asked for: {added[0]}")


def expect(guest, line, errors, what):
    if line not in guest:
        errors.append(f"no '{line}' line: {what}")


def number(guest, pattern, errors, what):
    for line in guest:
        m = re.fullmatch(pattern, line)
        if m:
            return [int(g) for g in m.groups()]
    errors.append(f"no line matching '{pattern}': {what}")
    return None


def check_guest(guest, errors):
    expect(guest, "refused unbound: exit 1 lines 1 socket none", errors,
           "a device bound to nvme must be refused in one line, exit 1, no socket")
    if not any(re.search(r"bound to nvme, not vfio-pci; bind it", g) for g in guest):
        errors.append("the refusal of a device bound to nvme does not name the fix")
    expect(guest, "refused busy: exit 1 lines 1 socket none", errors,
           "a device the proxy holds must be refused in one line, exit 1, no socket")
    for prefix, what in (("direct ", "the kernel backend"), ("", "the proxy"),
                         ("after kills: ", "the proxy after the killed clients"),
                         ("proxy killed: direct ", "the device after the proxy was killed")):
        expect(guest, prefix + EDU_ID, errors, f"edu's id through a mapping, {what}")
        expect(guest, prefix + EDU_COPY, errors, f"edu's DMA and MSI through {what}")
    n = number(guest, r"id reads by message: (\d+)", errors, "REGION_READs counted")
    if n and n[0] != 0:
        errors.append(f"reading edu's id through the mapping sent {n[0]} REGION_READs to the proxy")
    n = number(guest, r"id reads by message after region I/O: (\d+)", errors, "the control")
    if n and n[0] < 1:
        errors.append("a region I/O read of the id reached the proxy as no message: "
                      "the count proves nothing")
    n = number(guest, r"killed after DMA_MAP: maps (\d+) unmapped by the client (\d+) "
               r"memory seen mapped (\d+)", errors, "clients killed mid-DMA")
    if n and (n[0] != 5 or n[1] >= n[0]):
        errors.append(f"of 5 clients killed after their DMA_MAP, {n[0]} mapped and {n[1]} "
                      "unmapped themselves: none died holding a mapping")
    if n and n[2] < 1:
        errors.append("the client's memory was never seen in the proxy's /proc/PID/maps: "
                      "counting it after the kills proves nothing")
    n = number(guest, r"IOMMU maps (\d+) unmaps (\d+)", errors, "the proxy's type1 calls")
    if n and (n[0] < 5 or n[0] != n[1]):
        errors.append(f"the proxy made {n[0]} type1 maps and {n[1]} unmaps: "
                      "mappings of gone clients left in the IOMMU")
    n = number(guest, r"killed clients: fds (-?\d+) client-memory (\d+)",
               errors, "the proxy's fds and mappings after killed clients")
    if n and n != [0, 0]:
        errors.append(f"after killed clients the proxy has {n[0]} more fds and {n[1]} "
                      "mappings of client memory")
    n = number(guest, r"proxy running: vfio fds (\d+)", errors, "the control of the fd count")
    if n and n[0] < 1:
        errors.append("no VFIO fd counted while the proxy runs: the count after it proves nothing")
    expect(guest, "proxy killed: vfio fds left 0", errors,
           "no process may hold a VFIO fd once the proxy is killed")


def main():
    docs, guest = read_console(sys.stdin)
    errors = []
    check_info(docs, errors)
    check_guest(guest, errors)
    for e in errors:
        print(f"check-kernel-proxy: {e}", file=sys.stderr)
    print(f"check-kernel-proxy: {len(DEVICES)} devices, {len(errors)} differences")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
