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


def msg(cmd, payload=b"", msg_id=1, flags=0):
    """A vfio-user command: 16-byte header, then payload."""
    return struct.pack("<HHIII", msg_id, cmd, 16 + len(payload), flags, 0) + payload


def record(data, nfds=0, kind=0, run=True):
    """fuzz_server.c: ctl (fd count, fd kind, run), u16 length, bytes."""
    ctl = nfds | (kind << 5) | (0x80 if run else 0)
    return struct.pack("<BH", ctl, len(data)) + data


def server_seeds():
    VERSION, MAP, UNMAP, INFO, RINFO, IOFDS, IRQINFO, SETIRQS = range(1, 9)
    READ, WRITE, RESET, MULTI = 9, 10, 13, 15
    qemu_json = (b'{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,'
                 b'"pgsizes":4096,"max_dma_maps":65535,"migration":{"pgsize":4096,'
                 b'"max_bitmap_size":1048576},"write_multiple":true}}\0')
    hello = record(msg(VERSION, struct.pack("<HH", 0, 0) + qemu_json, 0))

    def rw(region, offset, count, data=None):
        body = struct.pack("<QII", offset, region, count)
        return body + (data if data is not None else b"")

    big = msg(WRITE, rw(2, 0x1000, 0xc000, bytes(i * 7 % 251 for i in range(0xc000))))

    def dma_map(iova, size, offset=0, flags=3):
        return struct.pack("<IIQQQ", 32, flags, offset, iova, size)

    def irq_set(flags, index, start, count, data=b""):
        return struct.pack("<IIIII", 20 + len(data), flags, index, start, count) + data
    EVENTFD, BOOL, NONE = 1 << 2, 1 << 1, 1 << 0
    TRIGGER, MASK, UNMASK = 1 << 5, 1 << 3, 1 << 4
    region_infos = b"".join(record(msg(RINFO, struct.pack("<IIIIQQ", argsz, 0, i, 0, 0, 0), 2 + i))
                            for i in range(10) for argsz in (32, 256))
    multi = struct.pack("<Q", 3) + b"".join(struct.pack("<QII", o, 7, 4) + b"\xff" * 8
                                            for o in (4, 0x10, 0x44))
    return {
        "hello": hello,
        "info": hello + record(msg(INFO, struct.pack("<IIII", 16, 0, 0, 0))) + region_infos,
        "irq-info": hello + b"".join(record(msg(IRQINFO, struct.pack("<IIII", 16, 0, i, 0), i))
                                     for i in range(6)),
        "region-rw": hello + record(msg(READ, rw(7, 0, 64))) +
        record(msg(WRITE, rw(0, 0x10, 4, b"abcd"))) +
        record(msg(WRITE, rw(2, 0x100, 8, b"12345678"), flags=0x10)) +
        record(msg(READ, rw(2, 0x100, 8))) + record(msg(READ, rw(6, 0, 0x800))) +
        record(msg(WRITE, rw(9, 0, 4, b"wxyz"))) + record(msg(READ, rw(4, 0xfc, 4))),
        "dma": hello + record(msg(MAP, dma_map(0x100000, 0x10000)), nfds=1, kind=0) +
        record(msg(MAP, dma_map(0x200000, 0x1000))) +
        record(msg(MAP, dma_map(0x100000, 0x1000)), nfds=1) +
        record(msg(UNMAP, struct.pack("<IIQQ", 24, 0, 0x200000, 0x1000))) +
        record(msg(UNMAP, struct.pack("<IIQQ", 24, 0, 0x900000, 0x1000))) +
        record(msg(UNMAP, struct.pack("<IIQQ", 24, 2, 0, 0))),
        "set-irqs": hello + record(msg(SETIRQS, irq_set(EVENTFD | TRIGGER, 2, 0, 4)), nfds=4, kind=1) +
        record(msg(SETIRQS, irq_set(EVENTFD | TRIGGER, 0, 0, 1)), nfds=1, kind=1) +
        record(msg(SETIRQS, irq_set(BOOL | MASK, 0, 0, 1, b"\1"))) +
        record(msg(SETIRQS, irq_set(NONE | UNMASK, 0, 0, 1))) +
        record(msg(SETIRQS, irq_set(EVENTFD | TRIGGER, 2, 0, 16)), nfds=16, kind=3) +
        record(msg(SETIRQS, irq_set(NONE | TRIGGER, 2, 0, 0))),
        "reset-multi": hello + record(msg(MULTI, multi)) + record(msg(RESET)) +
        record(msg(IOFDS, struct.pack("<IIII", 16, 0, 2, 0))),
        "split": hello + record(msg(READ, rw(7, 0, 4))[:7], run=True) +
        record(msg(READ, rw(7, 0, 4))[7:] + msg(READ, rw(0, 0, 4096))),
        "no-version": record(msg(INFO, struct.pack("<IIII", 16, 0, 0, 0))),
        "too-many-fds": hello + record(msg(MAP, dma_map(0, 0x1000)), nfds=31, kind=3),
        # Large writes to the mappable BAR, received into its memory: cut
        # after the header, mid-data, with fds on the data, then a read.
        "direct-write": hello + record(big[:40]) + record(big[40:30000]) +
        record(big[30000:], nfds=1, kind=1) + record(big) +
        record(msg(READ, rw(2, 0x8000, 64))),
    }


def client_seeds():
    """fuzz_client.c: one record per reply; 0x80 patches in the request's id."""
    def reply(cmd, payload=b"", nfds=0, kind=0, err=0):
        flags = 1 | (0x20 if err else 0)
        m = struct.pack("<HHIII", 0, cmd, 16 + len(payload), flags, err) + payload
        return struct.pack("<BH", 0x80 | nfds | (kind << 5), len(m)) + m
    caps = (b'{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,'
            b'"max_dma_maps":65535,"pgsizes":4096,"write_multiple":true}}\0')
    version = reply(1, struct.pack("<HH", 0, 0) + caps)
    dev_info = reply(4, struct.pack("<IIII", 16, 3, 10, 5))
    plain = [reply(5, struct.pack("<IIIIQQ", 32, 3, i, 0, 0x1000, 0)) for i in range(10)]
    mappable = reply(5, region_info([sparse([(0, 0x1000)])], READ | WRITE | MMAP, 2), nfds=1)
    typed = reply(5, region_info([cap(2, struct.pack("<II", 0x10de, 1))], index=9))
    irqs = b"".join(reply(7, struct.pack("<IIII", 16, 7, i, 1)) for i in range(5))
    read = reply(9, struct.pack("<QII", 0, 7, 256) + bytes(range(256)))
    return {
        "version-only": version,
        "session": version + dev_info + b"".join(plain) + irqs + read +
        reply(9, struct.pack("<QII", 0, 0, 4) + b"abcd"),
        "caps": version + dev_info + plain[0] + plain[1] + mappable + b"".join(plain[3:9]) + typed,
        "errors": version + reply(4, err=22) + reply(5, err=1),
        "bad-version": reply(1, struct.pack("<HH", 1, 0) + b"{}\0"),
    }


TARGETS = {
    "capchain": capchain_seeds,
    "config": config_seeds,
    "version": version_seeds,
    "server": server_seeds,
    "client": client_seeds,
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
