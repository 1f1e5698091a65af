#!/usr/bin/env python3
"""A tiny authoritative DNS server for tests, on a loopback address only.

  dns_stub.py LISTEN_IP:PORT LIFETIME_S RECORD...

RECORD is NAME=A:IP, NAME=AAAA:IP6 or NAME=SRV:PRIO,WEIGHT,PORT,TARGET.
Known names get their records (NOERROR with no answer for other types,
so an RFC 3263 client goes from NAPTR on to SRV and A), unknown names
NXDOMAIN. TTL 5 s. Exits after LIFETIME_S seconds (bounded); prints one
line per query on stdout ("NAME TYPE rcode answers") for the test's log.
"""
import ipaddress
import socket
import struct
import sys
import time

TYPES = {1: "A", 28: "AAAA", 33: "SRV", 35: "NAPTR"}


def name_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def parse_qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    ip, port = sys.argv[1].rsplit(":", 1)
    if not ipaddress.ip_address(ip).is_loopback:
        print("loopback addresses only", file=sys.stderr)
        return 2
    lifetime = float(sys.argv[2])
    zone = {}
    for rec in sys.argv[3:]:
        name, val = rec.split("=", 1)
        kind, data = val.split(":", 1)
        zone.setdefault(name.lower().rstrip("."), []).append((kind, data))
    s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.bind((ip, int(port)))
    end = time.time() + lifetime
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            msg, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(msg) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        if qd != 1:
            continue
        try:
            qname, off = parse_qname(msg, 12)
        except (ValueError, IndexError):
            continue
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        answers = b""
        count = 0
        rcode = 0
        if qname not in zone:
            rcode = 3  # NXDOMAIN
        else:
            for kind, data in zone[qname]:
                rr = None
                if kind == "A" and qtype == 1:
                    rr = (1, socket.inet_pton(socket.AF_INET, data))
                elif kind == "AAAA" and qtype == 28:
                    rr = (28, socket.inet_pton(socket.AF_INET6, data))
                elif kind == "SRV" and qtype == 33:
                    prio, weight, sport, target = data.split(",")
                    rr = (33, struct.pack("!HHH", int(prio), int(weight),
                                          int(sport)) + name_wire(target))
                if rr:
                    answers += (b"\xc0\x0c" +
                                struct.pack("!HHIH", rr[0], 1, 5,
                                            len(rr[1])) + rr[1])
                    count += 1
        rflags = 0x8400 | (flags & 0x0100) | rcode  # QR AA, RD copied
        reply = struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0)
        s.sendto(reply + question + answers, peer)
        print(f"{qname} {TYPES.get(qtype, qtype)} {rcode} {count}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
