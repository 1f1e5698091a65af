#!/usr/bin/env python3
"""Digest brute force against a real tandemd (issue 10 item 4: "digest
brute force slowed and logged"; no enumeration).

    brute_digest.py TANDEMD

tandemd runs on 127.0.0.1 (a free port) with the static policy asking
callers for digest credentials (sip.auth_user/auth_pass) and
limits.auth_fails = 3, auth_ban_s = 2. Each try is an INVITE to a number
without a route: a 407 challenge, then the INVITE again with the answer
(RFC 3261 §22.2, RFC 2617 MD5 with qop=auth); a right password gets past
authentication to the routing (404), a wrong one 403.

 1. right password: 404; a wrong password and an unknown user: the same
    403 (nothing tells them apart);
 2. one more wrong (3 in all): the source is blocked, logged as brute force;
 3. the right password while blocked: 403, unchecked (/stats counts it);
 4. after the 2 s block, 3 more failures: blocked for 4 s (doubled):
    the right password still 403 after 2.5 s, through (404) after 4 s.

Every socket is on 127.0.0.1; tandemd is stopped by PID. Exit 0 pass,
1 fail, 77 when tandemd is missing."""
import hashlib
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tandemd_proc import Tandemd  # noqa: E402

USER, PASSWORD = "trunkuser", "c4rrier"


def start_tandemd(binary, work):
    return Tandemd(binary, work, "brute", f"""workers = 2
auth_user = {USER}
auth_pass = {PASSWORD}""", f"""[limits]
auth_fails = 3
auth_window_s = 60
auth_ban_s = 2
[media]
enabled = no
[cdr]
spool_dir = {work}/spool
[route.pbx]
prefix = 1555
targets = 127.0.0.1:9""")


class Caller:
    """One UDP socket on 127.0.0.1 playing the carrier."""

    def __init__(self, port):
        self.dst = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.lport = self.s.getsockname()[1]
        self.n = 0

    def recv_final(self, branch):
        end = time.time() + 5
        while time.time() < end:
            self.s.settimeout(max(0.05, end - time.time()))
            try:
                data = self.s.recv(65535).decode("latin-1")
            except socket.timeout:
                break
            if branch not in data:
                continue
            st = int(data.split(" ", 2)[1])
            if st >= 200:
                return st, data
        raise SystemExit("FAIL: no final response from tandemd")

    def invite(self, callid, cseq, branch, tag, auth=None):
        lines = [
            f"INVITE sip:4999@127.0.0.1:{self.dst[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.lport};branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:+4930555@127.0.0.1>;tag={tag}",
            f"To: <sip:4999@127.0.0.1:{self.dst[1]}>",
            f"Call-ID: {callid}",
            f"CSeq: {cseq} INVITE",
            f"Contact: <sip:carrier@127.0.0.1:{self.lport}>",
        ]
        if auth:
            lines.append("Proxy-Authorization: " + auth)
        lines += ["Content-Length: 0", "", ""]
        self.s.sendto("\r\n".join(lines).encode(), self.dst)
        return self.recv_final(branch)

    def ack(self, callid, cseq, branch, tag, resp):
        to = re.search(r"^To: (.*)$", resp, re.M).group(1).strip()
        msg = "\r\n".join([
            f"ACK sip:4999@127.0.0.1:{self.dst[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.lport};branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:+4930555@127.0.0.1>;tag={tag}",
            f"To: {to}",
            f"Call-ID: {callid}",
            f"CSeq: {cseq} ACK",
            "Content-Length: 0", "", ""])
        self.s.sendto(msg.encode(), self.dst)

    def attempt(self, user, password):
        """A call with credentials: the status after the challenge."""
        self.n += 1
        callid, tag = f"brute-{self.n}-{os.getpid()}", f"t{self.n}"
        b1 = f"z9hG4bK-b{self.n}a"
        st, resp = self.invite(callid, 1, b1, tag)
        self.ack(callid, 1, b1, tag, resp)
        if st != 407:
            raise SystemExit(f"FAIL: no challenge but {st}")
        ch = re.search(r"^Proxy-Authenticate: Digest (.*)$", resp,
                       re.M | re.I).group(1)
        prm = dict(re.findall(r'(\w+)="?([^",]*)"?', ch))
        uri = f"sip:4999@127.0.0.1:{self.dst[1]}"
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
        ha1 = md5(f"{user}:{prm['realm']}:{password}")
        ha2 = md5(f"INVITE:{uri}")
        cnonce, nc = "0a4f113b", "00000001"
        auth = (f'Digest username="{user}", realm="{prm["realm"]}", '
                f'nonce="{prm["nonce"]}", uri="{uri}", algorithm=MD5')
        if "qop" in prm:
            r = md5(f"{ha1}:{prm['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            auth += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            r = md5(f"{ha1}:{prm['nonce']}:{ha2}")
        auth += f', response="{r}"'
        if "opaque" in prm:
            auth += f', opaque="{prm["opaque"]}"'
        b2 = f"z9hG4bK-b{self.n}b"
        st, resp = self.invite(callid, 2, b2, tag, auth)
        self.ack(callid, 2, b2, tag, resp)
        return st, resp


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("SKIP: no tandemd")
        return 77
    work = tempfile.mkdtemp(prefix="tandem-brute-")
    td = start_tandemd(sys.argv[1], work)
    ok = False
    try:
        c = Caller(td.port)

        def expect(what, want, user=USER, password=PASSWORD):
            st, resp = c.attempt(user, password)
            print(f"{what}: {st}")
            if st != want:
                raise SystemExit(f"FAIL: {what}: {st}, want {want}")
            return resp

        expect("right password", 404)
        r1 = expect("wrong password", 403, password="guess1")
        r2 = expect("unknown user", 403, user="admin", password="guess2")
        strip = lambda r: re.sub(r"^(Via|From|To|Call-ID|CSeq):.*\r\n", "",
                                 r, flags=re.M)
        if strip(r1) != strip(r2):
            raise SystemExit("FAIL: unknown user and wrong password answer "
                             f"differently:\n{r1}\n---\n{r2}")
        expect("wrong password (3rd failure)", 403, password="guess3")
        time.sleep(0.2)
        if not re.search(r"digest brute force\? 3 failed digests from "
                         r"127\.0\.0\.1 within 60 s: .* refused for 2 s",
                         td.text()):
            raise SystemExit("FAIL: the block is not logged")
        expect("right password while blocked", 403)
        blocked = td.stats()["sip"]["auth_blocked"]
        failed = td.stats()["sip"]["auth_failed"]
        print(f"/stats: auth_failed {failed}, auth_blocked {blocked}")
        if blocked != 1 or failed != 3:
            raise SystemExit("FAIL: /stats counts")
        time.sleep(2.2)
        for i in range(3):
            expect(f"after the block, wrong password again ({i + 1})", 403,
                   password=f"again{i}")
        time.sleep(0.2)
        if "refused for 4 s" not in td.text():
            raise SystemExit("FAIL: the second block is not 4 s")
        time.sleep(2.5)
        expect("right password 2.5 s into the 4 s block", 403)
        time.sleep(1.8)
        expect("right password after the block", 404)
        ok = True
    finally:
        rc = td.stop()
        if not ok or rc != 0:
            print(td.text()[-4000:])
            print(f"tandemd exit {rc}; logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if rc != 0:
        print(f"FAIL: tandemd exited {rc}")
        return 1
    print("PASS: digest brute force blocked, logged and undistinguishable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
