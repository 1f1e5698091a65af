#!/usr/bin/env python3
"""run_protos.sh's sender: replays every PROTOS c07-sip case (INVITE, then
its CANCEL) over UDP from 127.0.0.2:5061 (the cases' Via port, so the
responses come back to this socket) to tandemd, runs CALL_CMD (one valid
SIPp call) after every 100 cases and requires exit 0, then counts the
responses by class. Usage: protos_send.py TGZ HOST PORT RATE CALL_CMD..."""
import collections, select, socket, subprocess, sys, tarfile, time

tgz, host, port, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
call_cmd = sys.argv[5:]
cases = {}
with tarfile.open(tgz) as t:
    for m in t.getmembers():
        if m.isfile() and m.name.endswith('.sip'):
            kind, name = m.name.split('/')[-2:]
            cases.setdefault(int(name[:-4]), {})[kind] = t.extractfile(m).read()
idx = sorted(cases)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(('127.0.0.2', 5061))
dst = (host, port)
classes = collections.Counter()
answered = set()
nresp = 0

def drain(until):
    global nresp
    while True:
        left = until - time.monotonic()
        r, _, _ = select.select([s], [], [], max(0.0, left))
        if not r:
            if left <= 0:
                return
            continue
        data = s.recv(70000)
        nresp += 1
        if data.startswith(b'SIP/2.0 ') and len(data) > 9:
            classes['%cxx' % data[8]] += 1
        else:
            classes['other'] += 1
        for line in data.split(b'\r\n'):
            if line.lower().startswith((b'call-id:', b'i:')):
                cid = line.split(b':', 1)[1].strip()
                if cid.endswith(b'@127.0.0.1') and cid[:-10].isdigit():
                    answered.add(int(cid[:-10]))

calls_ok = calls = 0
gap = 1.0 / rate
t0 = time.monotonic()
for n, i in enumerate(idx):
    c = cases[i]
    for kind in ('invite', 'cancel'):
        if kind in c:
            try:
                s.sendto(c[kind], dst)
            except OSError as e:  # ICMP from an earlier send, EMSGSIZE
                classes['send-error'] += 1
    drain(t0 + (n + 1) * gap)
    if (n + 1) % 100 == 0 or n + 1 == len(idx):
        calls += 1
        rc = subprocess.call(call_cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        if rc == 0:
            calls_ok += 1
        else:
            print('valid call after case %d: SIPp exited %d' % (i, rc))
        t0 = time.monotonic() - (n + 1) * gap
drain(time.monotonic() + 2.0)
print('measured: cases sent %d (%d datagrams), %.1f s' % (
    len(idx), sum(len(c) for c in cases.values()), time.monotonic() - t0))
print('measured: responses %d: %s' % (nresp, ' '.join(
    '%s=%d' % kv for kv in sorted(classes.items()))))
print('measured: cases answered (by Call-ID) %d of %d; case 0 answered: %s' % (
    len(answered), len(idx), 0 in answered))
print('measured: valid calls OK %d of %d' % (calls_ok, calls))
sys.exit(0 if calls_ok == calls and 0 in answered else 1)
