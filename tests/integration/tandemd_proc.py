"""A tandemd for the Python integration tests (brute_digest.py,
source_ban.py): started on 127.0.0.1 with SIP port 0 (the port read back
from its log) and the management API on a free port, stopped by PID."""
import json
import os
import re
import socket
import subprocess
import time
import urllib.request


def free_port(kind):
    """A port of 127.0.0.1 free right now (socket.SOCK_STREAM/DGRAM)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Tandemd:
    """tandemd on a config made of body (sections after [sip]'s listen,
    port and workers, and [api]'s listen), in work; name tells its files
    apart."""

    def __init__(self, binary, work, name, sip_extra, body):
        self.api = free_port(socket.SOCK_STREAM)
        self.log = os.path.join(work, f"tandemd-{name}.log")
        conf = os.path.join(work, f"tandem-{name}.conf")
        with open(conf, "w") as f:
            f.write(f"""; {name}
[sip]
listen = 127.0.0.1
port = 0
{sip_extra}
[api]
listen = 127.0.0.1:{self.api}
[log]
level = info
target = stderr
{body}
""")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([binary, "-c", conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.port = None
        for _ in range(100):
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            raise SystemExit("FAIL: tandemd did not start:\n" + self.text())

    def text(self):
        with open(self.log) as f:
            return f.read()

    def stats(self):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.api}/stats", timeout=5) as r:
            return json.load(r)

    def stop(self):
        """SIGTERM (then SIGKILL after 10 s); its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode
