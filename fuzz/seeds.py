#!/usr/bin/env python3
"""Write the hand-made seeds of the fuzz targets into fuzz/corpus/<target>/.

Seeds are valid (or nearly valid) inputs that start the fuzzer deep inside
the code. Crash reproducers found later are committed next to them by hand
(named crash-*) and are never rewritten by this script.
Usage: fuzz/seeds.py [TARGET...]   (default: every target)
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CAPS_FLAG = 1 << 3
READ, WRITE, MMAP = 1, 2, 4


def region_info(caps, flags=READ | WRITE, index=0, size=0x1000):
    """struct vfio_region_info followed by a chain built like the kernel."""
    body = b""
    offsets = []
    for cap in caps:
        offsets.append(32 + len(body))
        body += cap + b"\0" * (-len(cap) % 8)
    chained = bytearray(body)
    for i, off in enumerate(offsets):
        nxt = offsets[i + 1] if i + 1 < len(offsets) else 0
        struct.pack_into("<I", chained, off - 32 + 4, nxt)
    argsz = 32 + len(chained)
    cap_off = 32 if caps else 0
    if caps:
        flags |= CAPS_FLAG
    return struct.pack("<IIIIQQ", argsz, flags, index, cap_off, size, 0) + bytes(chained)


def cap(cap_id, body, version=1):
    return struct.pack("<HHI", cap_id, version, 0) + body


def sparse(areas):
    return cap(1, struct.pack("<II", len(areas), 0) +
               b"".join(struct.pack("<QQ", o, s) for o, s in areas))


def capchain_seeds():
    t = cap(2, struct.pack("<II", 0x10de, 1))
    msix = cap(3, b"")
    ssatgt = cap(4, struct.pack("<Q", 0x1234_0000_0000))
    lnkspd = cap(5, struct.pack("<II", 9, 0))
    return {
        "no-caps": region_info([]),
        "sparse": region_info([sparse([(0, 0x1000), (0x3000, 0x1000)])], READ | WRITE | MMAP),
        "type": region_info([t], index=9),
        "msix-mappable": region_info([msix], READ | WRITE | MMAP),
        "nvlink2": region_info([t, ssatgt, lnkspd], index=10),
        "all-caps": region_info([sparse([(0, 0x800)]), t, msix, ssatgt, lnkspd]),
        "unknown-id": region_info([cap(0x77, b"\1\2\3\4")]),
        "unknown-version": region_info([cap(2, struct.pack("<II", 1, 2), version=3)]),
    }


def config_seeds():
    """Ops of fuzz_config.c: flags (op in the low bits), count, u16 offset, data."""
    def op(kind, count, offset, data=b""):
        return struct.pack("<BBH", kind, count, offset) + data
    rd, wr, rrd, rwr, reset = range(5)
    bar_sizing = b"".join(op(wr, 4, 0x10 + 4 * i, b"\xff" * 4) + op(rd, 4, 0x10 + 4 * i)
                          for i in range(6))
    return {
        "read-header": b"".join(op(rd, n, o) for n in (1, 2, 4, 8) for o in range(0, 64, 3)),
        "bar-sizing": bar_sizing + op(wr, 4, 0x30, b"\xfe\xff\xff\xff") + op(rd, 4, 0x30),
        "command-status": op(wr, 2, 4, b"\x07\x05") + op(wr, 2, 6, b"\xff\xff") + op(rrd, 4, 4),
        "walk-caps": b"".join(op(rrd, 4, o) for o in range(0x34, 0x100, 4)),
        "ext-caps": b"".join(op(rrd, 4, o) for o in range(0x100, 0x140, 4)) +
                    op(rwr, 4, 0x104, b"\xff" * 4),
        "msi-msix": b"".join(op(wr, 2, o, b"\xff\xff") for o in range(0x40, 0x100, 2)) +
                    op(reset, 0, 0) + op(rd, 8, 0x40),
        "edges": op(rd, 4, 0xffe) + op(rd, 1, 0xfff) + op(wr, 0xff, 0, b"\x00\x10") +
                 op(rd, 0xf8, 0) + op(0x80, 4, 0) + op(0x81, 4, 3, b"abcd"),
    }


def version_seeds():
    """fuzz_version.c: one byte of error-buffer size, then the JSON part."""
    def j(text, err=63):
        return bytes([err]) + text.encode() + b"\0"
    qemu = ('{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,'
            '"pgsizes":4096,"max_dma_maps":65535,"migration":{"pgsize":4096,'
            '"max_bitmap_size":1048576},"write_multiple":true}}')
    return {
        "qemu": j(qemu),
        "empty": bytes([63]),
        "empty-object": j("{}"),
        "ours": j('{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":1048576,'
                  '"max_dma_maps":1048576,"pgsizes":4096,"write_multiple":true}}'),
        "twin": j('{"capabilities":{"twin_socket":{"supported":true},"unknown":[1,2]}}'),
        "big-numbers": j('{"capabilities":{"max_data_xfer_size":18446744073709551615,'
                         '"max_msg_fds":4294967296,"pgsizes":-1}}', err=7),
        "no-nul": bytes([20]) + b'{"capabilities":{}}',
        "bad-types": j('{"capabilities":{"write_multiple":1,"pgsizes":"4096"}}', err=1),
    }


TARGETS = {
    "capchain": capchain_seeds,
    "config": config_seeds,
    "version": version_seeds,
}


def main(names):
    for name in names or TARGETS:
        out = os.path.join(HERE, "corpus", name)
        os.makedirs(out, exist_ok=True)
        for seed, data in TARGETS[name]().items():
            with open(os.path.join(out, "seed-" + seed), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
