#!/usr/bin/env python3
"""Per-source request rate limit with temporary bans (issue 10 item 4,
"like Kamailio's pike"), against a real tandemd.

    source_ban.py TANDEMD

tandemd on 127.0.0.1 (a free port), its static policy knowing callers
from 127.0.0.2 only, limits.source_rps = 5 (a burst of 10) and
source_ban_s = 2. From 127.0.0.1 (a source the policy does not know):

 1. 30 OPTIONS at once: the first 10 answered 200, the rest not (the
    default source_reply = drop); the ban is logged with the source and
    counted in /stats sip.source_banned;
 2. one more OPTIONS 1 s later: still banned, no answer;
 3. after the 2 s ban: answered 200 again;
 4. a second tandemd with source_reply = 403: the refused requests get
    403 Forbidden, statelessly.
 5. 127.0.0.2, a caller the policy knows by address, is never limited
    here: 30 OPTIONS, 30 answers.

Every socket is on 127.0.0.0/8; tandemd is stopped by PID. Exit 0 pass,
1 fail, 77 without tandemd."""
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


def start_tandemd(binary, work, reply):
    return Tandemd(binary, work, reply, """workers = 1
sources = 127.0.0.2/32""", f"""[limits]
source_rps = 5
source_ban_s = 2
source_reply = {reply}
[media]
enabled = no
[cdr]
spool_dir = {work}/spool-{reply}
[route.pbx]
prefix = 1555
targets = 127.0.0.1:9""")


class Sender:
    def __init__(self, ip, port):
        self.dst = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, 0))
        self.ip, self.lport = self.s.getsockname()
        self.n = 0

    def burst(self, count, wait=0.5):
        """count OPTIONS at once: the status codes that came back."""
        for _ in range(count):
            self.n += 1
            msg = "\r\n".join([
                f"OPTIONS sip:127.0.0.1:{self.dst[1]} SIP/2.0",
                f"Via: SIP/2.0/UDP {self.ip}:{self.lport};branch=z9hG4bK-o{self.n}",
                "Max-Forwards: 70",
                f"From: <sip:probe@{self.ip}>;tag=p{self.n}",
                f"To: <sip:127.0.0.1:{self.dst[1]}>",
                f"Call-ID: ban-{self.n}-{os.getpid()}@{self.ip}",
                f"CSeq: {self.n} OPTIONS",
                "Content-Length: 0", "", ""])
            self.s.sendto(msg.encode(), self.dst)
        codes = []
        end = time.time() + wait
        while time.time() < end:
            self.s.settimeout(max(0.01, end - time.time()))
            try:
                data = self.s.recv(65535).decode("latin-1")
            except socket.timeout:
                break
            codes.append(int(data.split(" ", 2)[1]))
        return codes


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("SKIP: no tandemd")
        return 77
    work = tempfile.mkdtemp(prefix="tandem-ban-")
    tds = []
    ok = False
    try:
        td = start_tandemd(sys.argv[1], work, "drop")
        tds.append(td)
        c = Sender("127.0.0.1", td.port)
        codes = c.burst(30)
        print(f"30 OPTIONS at once: {len(codes)} answered {sorted(set(codes))}")
        if codes.count(200) != 10 or len(codes) != 10:
            raise SystemExit(f"FAIL: want 10 answered 200, got {codes}")
        if not re.search(r"127\.0\.0\.1 over 5 requests/s: banned for 2 s",
                         td.text()):
            raise SystemExit("FAIL: the ban is not logged")
        banned = td.stats()["sip"]["source_banned"]
        print(f"/stats sip.source_banned {banned}")
        if banned < 1:
            raise SystemExit("FAIL: /stats source_banned")
        time.sleep(0.5)
        codes = c.burst(1)
        print(f"1 s into the ban: {codes}")
        if codes:
            raise SystemExit(f"FAIL: answered while banned: {codes}")
        time.sleep(1.3)
        codes = c.burst(1)
        print(f"after the ban: {codes}")
        if codes != [200]:
            raise SystemExit(f"FAIL: after the ban: {codes}")
        known = Sender("127.0.0.2", td.port)
        codes = known.burst(30)
        print(f"the known caller, 30 at once: {len(codes)} answered")
        if len(codes) != 30:
            raise SystemExit(f"FAIL: the known caller got {len(codes)}")
        td2 = start_tandemd(sys.argv[1], work, "403")
        tds.append(td2)
        c2 = Sender("127.0.0.1", td2.port)
        codes = c2.burst(30)
        print(f"source_reply = 403, 30 at once: {codes.count(200)} x 200, "
              f"{codes.count(403)} x 403")
        if codes.count(200) != 10 or codes.count(403) != 20:
            raise SystemExit(f"FAIL: source_reply 403: {codes}")
        ok = True
    finally:
        rcs = [t.stop() for t in tds]
        if not ok or any(rcs):
            for t in tds:
                print(t.text()[-3000:])
            print(f"tandemd exits {rcs}; logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if any(rcs):
        print(f"FAIL: tandemd exited {rcs}")
        return 1
    print("PASS: over-rate sources banned, logged, dropped or 403 by policy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
