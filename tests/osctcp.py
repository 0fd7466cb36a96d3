#!/usr/bin/env python3
"""osctcp — OSC over TCP for the tests, written from the OSC 1.0 spec, not with liblo.

Usage: osctcp.py [-H HOST] -p PORT [--slip] [-t SECONDS] [-k COUNT] [--hold SECONDS]
                 ADDRESS [TYPES ARGS...] [-- ADDRESS [TYPES ARGS...]]...

Connects once, sends each message (types i h f d s), framed with a 4-byte big-endian
length (OSC 1.0 packet-length framing, liblo's default) or with --slip as SLIP
(OSC 1.1, double END), then prints COUNT replies read back over the same connection,
one a line as tests/oscraw does: the address, then type:value for each argument.
--hold keeps reading (printing nothing more) for that long before closing.
Exit: 0 when COUNT replies came, 3 when not within -t SECONDS, 2 on errors.
"""
import socket
import struct
import sys
import time

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD


def pad(b):
    return b + b"\0" * (4 - len(b) % 4)


def message(address, types, args):
    out = pad(address.encode()) + pad(("," + types).encode())
    for t, a in zip(types, args):
        if t == "i":
            out += struct.pack(">i", int(a))
        elif t == "h":
            out += struct.pack(">q", int(a))
        elif t == "f":
            out += struct.pack(">f", float(a))
        elif t == "d":
            out += struct.pack(">d", float(a))
        elif t == "s":
            out += pad(a.encode())
        else:
            raise SystemExit("osctcp: type %s not supported" % t)
    return out


def slip(data):
    out = bytearray([END])
    for b in data:
        if b == END:
            out += bytes([ESC, ESC_END])
        elif b == ESC:
            out += bytes([ESC, ESC_ESC])
        else:
            out.append(b)
    out.append(END)
    return bytes(out)


def string(data, pos):
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8", "replace"), (end // 4 + 1) * 4


def decode(data):
    address, pos = string(data, 0)
    types, pos = string(data, pos)
    words = [address]
    for t in types[1:]:
        if t == "i":
            (v,) = struct.unpack_from(">i", data, pos)
            pos += 4
            words.append("i:%d" % v)
        elif t == "h":
            (v,) = struct.unpack_from(">q", data, pos)
            pos += 8
            words.append("h:%d" % v)
        elif t == "f":
            (v,) = struct.unpack_from(">f", data, pos)
            pos += 4
            words.append("f:%g" % v)
        elif t == "d":
            (v,) = struct.unpack_from(">d", data, pos)
            pos += 8
            words.append("d:%g" % v)
        elif t == "s":
            v, pos = string(data, pos)
            words.append("s:" + v)
        else:
            words.append("%s:?" % t)
    return " ".join(words)


class Reader:
    def __init__(self, sock, use_slip):
        self.sock, self.slip, self.buf = sock, use_slip, bytearray()

    def packets(self):
        """Complete packets in the buffer, removed from it."""
        out = []
        if self.slip:
            while END in self.buf:
                i = self.buf.index(END)
                frame, self.buf = bytes(self.buf[:i]), self.buf[i + 1 :]
                if frame:
                    out.append(frame.replace(bytes([ESC, ESC_END]), bytes([END])).replace(
                        bytes([ESC, ESC_ESC]), bytes([ESC])))
        else:
            while len(self.buf) >= 4:
                (n,) = struct.unpack_from(">I", self.buf, 0)
                if len(self.buf) < 4 + n:
                    break
                out.append(bytes(self.buf[4 : 4 + n]))
                self.buf = self.buf[4 + n :]
        return out

    def read(self, deadline):
        """Packets read until something came or DEADLINE passed; None at EOF."""
        while True:
            got = self.packets()
            if got:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return []
            if not data:
                return None
            self.buf += data


def main(argv):
    host, port, use_slip, timeout, count, hold = "127.0.0.1", None, False, 2.0, 1, 0.0
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        o = argv[i]
        if o == "--slip":
            use_slip = True
            i += 1
            continue
        v = argv[i + 1]
        if o == "-H":
            host = v
        elif o == "-p":
            port = int(v)
        elif o == "-t":
            timeout = float(v)
        elif o == "-k":
            count = int(v)
        elif o == "--hold":
            hold = float(v)
        else:
            print("osctcp: unknown option " + o, file=sys.stderr)
            return 2
        i += 2
    msgs, cur = [], []
    for a in argv[i:] + ["--"]:
        if a == "--":
            if cur:
                msgs.append(message(cur[0], cur[1] if len(cur) > 1 else "", cur[2:]))
            cur = []
        else:
            cur.append(a)
    if port is None or not msgs:
        print(__doc__, file=sys.stderr)
        return 2
    sock = socket.create_connection((host, port), timeout=timeout)
    for m in msgs:
        sock.sendall(slip(m) if use_slip else struct.pack(">I", len(m)) + m)
    reader = Reader(sock, use_slip)
    got, deadline = 0, time.monotonic() + timeout
    while got < count:
        packets = reader.read(deadline)
        if not packets:
            break
        for p in packets[: count - got]:
            print(decode(p), flush=True)
            got += 1
    end = time.monotonic() + hold
    while hold and time.monotonic() < end and reader.read(end) is not None:
        pass
    sock.close()
    if got < count:
        print("osctcp: %d of %d replies within %g s" % (got, count, timeout), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
