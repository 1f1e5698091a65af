#!/usr/bin/env python3
"""TLS <-> TCP relay for the SIP-over-TLS wire tests (run_txn.sh tls_*).

Debian's SIPp (sip-tester 3.6.1) is built without OpenSSL: `-t l1` fails
with "To use a TLS transport you must compile SIPp with OpenSSL". So SIPp
speaks TCP to this relay, and the relay speaks TLS to Tandem's stack, on
127.0.0.1 only:

  client LPORT TPORT CA         SIPp (TCP) -> :LPORT -> TLS -> :TPORT
      TLS client towards TPORT: TLS 1.2 minimum, verifies the server's
      chain against CA and its name (the IP address 127.0.0.1, RFC 5922
      §7.2 style), refuses otherwise.
  server LPORT TPORT CERT KEY   TLS on :LPORT (certificate CERT/KEY) -> TCP
      -> :TPORT (SIPp)

One TCP connection per TLS connection, bytes relayed unchanged both ways
(the SIPp scenarios write "TLS" in their Via themselves). Prints one line
per handshake ("handshake ok TLSv1.3 ..." or "handshake failed: ...") on
stdout, flushed, for the runner to check. Stops by itself after
--lifetime seconds (default 20), whatever happens.
"""
import socket
import ssl
import sys
import threading
import time


def log(msg):
    print(msg, flush=True)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(a, b):
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join(5)
    a.close()
    b.close()


def client_conn(c, tport, ctx):
    try:
        raw = socket.create_connection(("127.0.0.1", tport), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.settimeout(None)
    except (OSError, ssl.SSLError) as e:
        log("handshake failed: %s" % e)
        c.close()
        return
    log("handshake ok %s %s peer verified" % (s.version(), s.cipher()[0]))
    relay(c, s)


def server_conn(c, tport, ctx):
    try:
        c.settimeout(5)
        s = ctx.wrap_socket(c, server_side=True)
        s.settimeout(None)
    except (OSError, ssl.SSLError) as e:
        log("handshake failed: %s" % e)
        c.close()
        return
    log("handshake ok %s %s" % (s.version(), s.cipher()[0]))
    try:
        t = socket.create_connection(("127.0.0.1", tport), timeout=5)
    except OSError as e:
        log("target: %s" % e)
        s.close()
        return
    relay(s, t)


def main(argv):
    lifetime = 20.0
    if len(argv) > 2 and argv[-2] == "--lifetime":
        lifetime = float(argv[-1])
        argv = argv[:-2]
    if len(argv) < 5 or argv[1] not in ("client", "server"):
        sys.stderr.write(__doc__)
        return 2
    mode, lport, tport = argv[1], int(argv[2]), int(argv[3])
    if mode == "client":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(cafile=argv[4])
        handler = client_conn
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(argv[4], argv[5])
        handler = server_conn
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(8)
    ls.settimeout(0.2)
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handler, args=(c, tport, ctx),
                         daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
