#!/usr/bin/env python3
"""Record a vfio-user session between a client (QEMU) and a server as fuzz seeds.

    vfio-user-recorder.py record LISTEN SERVER OUT_PREFIX
    vfio-user-recorder.py pick IN RANGES [--id N] > OUT
    vfio-user-recorder.py show IN

record: listen on the unix socket LISTEN; for each client that connects,
connect to the server socket SERVER and relay bytes both ways unchanged,
SCM_RIGHTS fds included (sent with the message that brought them). Each
direction is cut into messages by the 16-byte header's msg_size, and each
message is appended as it completes to
  OUT_PREFIX-N.server   what the client sent, as fuzz/fuzz_server.c records:
                        u8 ctl (fd count, fd kind, bit 7 "run the server"),
                        u16 length, bytes; a message over 65535 bytes is
                        cut into several records, the fds on the first;
  OUT_PREFIX-N.client   what the server sent, as fuzz/fuzz_client.c records:
                        the same layout; bit 7 ("patch in the request's
                        msg_id and command") is set on replies and not on the
                        server's own commands (DMA_READ/DMA_WRITE); a message
                        over 65535 bytes is cut to its first 65535;
  OUT_PREFIX-N.txt      one line per message: record number in its file,
                        direction, msg_id, command, flags, size, fds
N counts connections from 1; an existing N is never overwritten. The fuzz
targets pass fds from a pool of their own, so an fd is recorded only as
its kind: memfd (also any file) 0, eventfd 1, pipe 2, a mix 3.
Stops on SIGTERM or SIGINT; every file is complete after each message.

pick: the records of IN at the given indexes (e.g. "0-12,15,20-"), in the
order given, on stdout. With --id N (client records only), each picked
record that has bit 7 gets bit 7 cleared and msg_id N, N+1, ... written in
its header instead: needed after a server command in a client seed, where
the fuzz target would otherwise patch in the id of the client's answer to
that command.

show: list the records of IN like the .txt index.
Python 3 standard library only.
"""
import array
import os
import selectors
import signal
import socket
import struct
import sys

HDR = 16
MAX_FDS = 253            # SCM_MAX_FD
MAX_RECORD = 0xffff
REPLY = 0x1
COMMANDS = {
    1: "VERSION", 2: "DMA_MAP", 3: "DMA_UNMAP", 4: "DEVICE_GET_INFO",
    5: "DEVICE_GET_REGION_INFO", 6: "DEVICE_GET_REGION_IO_FDS",
    7: "DEVICE_GET_IRQ_INFO", 8: "DEVICE_SET_IRQS", 9: "REGION_READ",
    10: "REGION_WRITE", 11: "DMA_READ", 12: "DMA_WRITE", 13: "DEVICE_RESET",
    14: "DIRTY_PAGES", 15: "REGION_WRITE_MULTIPLE", 16: "DEVICE_FEATURE",
    17: "MIG_DATA_READ", 18: "MIG_DATA_WRITE",
}


def fd_kind(fd):
    """0 memfd or other file, 1 eventfd, 2 pipe: what the fuzz pools hold."""
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return 0
    if "eventfd" in target:
        return 1
    if target.startswith("pipe:"):
        return 2
    return 0


def kinds_ctl(kinds):
    if not kinds:
        return 0
    return kinds[0] if len(set(kinds)) == 1 else 3


def describe(msg, kinds):
    if len(msg) < HDR:
        return "short %d bytes" % len(msg)
    msg_id, cmd, size, flags, err = struct.unpack_from("<HHIII", msg)
    text = "id %d %s flags %#x size %d" % (msg_id, COMMANDS.get(cmd, "cmd-%d" % cmd), flags, size)
    if flags & 0x20:
        text += " error %d" % err
    if kinds:
        text += " fds %s" % ",".join("memfd eventfd pipe".split()[k] for k in kinds)
    return text


class Recording:
    """The three files of one connection."""

    def __init__(self, prefix):
        n = 1
        while os.path.exists("%s-%d.txt" % (prefix, n)):
            n += 1
        base = "%s-%d" % (prefix, n)
        self.server = open(base + ".server", "wb")
        self.client = open(base + ".client", "wb")
        self.index = open(base + ".txt", "w")
        self.counts = {"c2s": 0, "s2c": 0}

    def add(self, direction, msg, kinds):
        nfds = min(len(kinds), 31)
        ctl = nfds | (kinds_ctl(kinds) << 5)
        if direction == "c2s":
            out, first = self.server, self.counts["c2s"]
            for off in range(0, max(len(msg), 1), MAX_RECORD):
                chunk = msg[off:off + MAX_RECORD]
                out.write(struct.pack("<BH", (ctl if off == 0 else 0) | 0x80, len(chunk)) + chunk)
                self.counts["c2s"] += 1
        else:
            out, first = self.client, self.counts["s2c"]
            flags = struct.unpack_from("<I", msg, 8)[0] if len(msg) >= HDR else 0
            if flags & REPLY:
                ctl |= 0x80
            chunk = msg[:MAX_RECORD]
            out.write(struct.pack("<BH", ctl, len(chunk)) + chunk)
            self.counts["s2c"] += 1
        out.flush()
        self.index.write("%4d %s %s\n" % (first, direction, describe(msg, kinds)))
        self.index.flush()

    def close(self):
        for f in (self.server, self.client, self.index):
            f.close()


class Framer:
    """Cut one direction's byte stream into messages.

    One recvmsg() may return several of the sender's sendmsg()s, and the
    kernel ends it after the one that carried fds: so the fds of a chunk
    belong to the last message that starts in it (or, if none does, to the
    message in progress)."""

    def __init__(self, direction, rec):
        self.direction, self.rec = direction, rec
        self.buf = bytearray()
        self.kinds = []

    def starts(self, data):
        """Offsets in data at which a message starts."""
        whole = self.buf + data
        pos, out = 0, []
        while True:
            if pos >= len(self.buf):
                out.append(pos - len(self.buf))
            if pos + HDR > len(whole):
                return [o for o in out if o < len(data)]
            pos += max(struct.unpack_from("<I", whole, pos + 4)[0], HDR)

    def fd_offset(self, data):
        """Where in data the fds of this chunk belong (0: at its start)."""
        starts = self.starts(data)
        return starts[-1] if starts else 0

    def feed(self, data, kinds):
        """Take a chunk; its fds are in kinds. Returns fd_offset()."""
        off = self.fd_offset(data) if kinds else 0
        self.buf += data[:off]
        self.emit()
        self.kinds += kinds
        self.buf += data[off:]
        self.emit()
        return off

    def emit(self):
        while len(self.buf) >= HDR:
            size = max(struct.unpack_from("<I", self.buf, 4)[0], HDR)
            if len(self.buf) < size:
                return
            self.rec.add(self.direction, bytes(self.buf[:size]), self.kinds)
            del self.buf[:size]
            self.kinds = []

    def finish(self):
        if self.buf:
            self.rec.add(self.direction, bytes(self.buf), self.kinds)
            self.buf = bytearray()


def recv_chunk(sock):
    fds = array.array("i")
    data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(MAX_FDS * fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


def send_chunk(sock, data, fds):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    view = memoryview(data)
    while view:
        n = sock.sendmsg([view], anc)
        view, anc = view[n:], []


class Session:
    def __init__(self, client, server, prefix):
        self.rec = Recording(prefix)
        self.sides = {client: (server, Framer("c2s", self.rec)),
                      server: (client, Framer("s2c", self.rec))}

    def relay(self, sock):
        """False when the session is over."""
        try:
            data, fds = recv_chunk(sock)
        except OSError:
            return False
        peer, framer = self.sides[sock]
        try:
            if data:
                off = framer.feed(data, [fd_kind(fd) for fd in fds])
                send_chunk(peer, data[:off], [])
                send_chunk(peer, data[off:], fds)
            return bool(data)
        except OSError:
            return False
        finally:
            for fd in fds:
                os.close(fd)

    def close(self, sel):
        for sock, (_, framer) in self.sides.items():
            framer.finish()
            sel.unregister(sock)
            sock.close()
        self.rec.close()


def record(listen_path, server_path, prefix):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    if os.path.exists(listen_path):
        os.unlink(listen_path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(listen_path)
    lsock.listen(4)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    while not stop:
        for key, _ in sel.select(timeout=0.2):
            if key.data is None:
                client, _ = lsock.accept()
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    server.connect(server_path)
                except OSError as e:
                    print("recorder: %s: %s" % (server_path, e), file=sys.stderr)
                    client.close()
                    server.close()
                    continue
                s = Session(client, server, prefix)
                sel.register(client, selectors.EVENT_READ, s)
                sel.register(server, selectors.EVENT_READ, s)
            elif not key.data.relay(key.fileobj):
                key.data.close(sel)
    for key in list(sel.get_map().values()):
        if key.data is not None and key.fileobj in key.data.sides:
            key.data.close(sel)
    lsock.close()
    os.unlink(listen_path)


def records(data):
    pos = 0
    while pos + 3 <= len(data):
        ctl, length = struct.unpack_from("<BH", data, pos)
        yield ctl, data[pos + 3:pos + 3 + length]
        pos += 3 + length


def parse_ranges(text, count):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        first = int(lo)
        last = (count - 1 if hi == "" else int(hi)) if "-" in part else first
        out += range(first, last + 1)
    return out


def pick(path, ranges, first_id=None):
    with open(path, "rb") as f:
        recs = list(records(f.read()))
    out = bytearray()
    next_id = first_id
    for i in parse_ranges(ranges, len(recs)):
        ctl, body = recs[i]
        if next_id is not None and ctl & 0x80 and len(body) >= 2:
            ctl &= 0x7f
            body = struct.pack("<H", next_id & 0xffff) + body[2:]
            next_id += 1
        out += struct.pack("<BH", ctl, len(body)) + body
    sys.stdout.buffer.write(out)


def show(path):
    with open(path, "rb") as f:
        for i, (ctl, body) in enumerate(records(f.read())):
            kinds = [(ctl >> 5) & 3] * (ctl & 0x1f)
            kinds = [k if k < 3 else 0 for k in kinds]
            print("%4d ctl %#04x %s" % (i, ctl, describe(body, kinds)))


def main(argv):
    if len(argv) == 4 and argv[0] == "record":
        record(*argv[1:])
    elif len(argv) in (3, 5) and argv[0] == "pick":
        first_id = int(argv[4]) if len(argv) == 5 and argv[3] == "--id" else None
        if len(argv) == 5 and first_id is None:
            sys.exit(__doc__)
        pick(argv[1], argv[2], first_id)
    elif len(argv) == 2 and argv[0] == "show":
        show(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
