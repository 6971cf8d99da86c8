#!/usr/bin/env python3
"""Records real GDB/MI output for the MiParser tests: builds capture/ in a directory whose name
is not ASCII, runs it under `gdb --interpreter=mi3 --nx -q` with the commands below, and writes
every byte gdb printed on its MI channel, unchanged, to session.mi (gdb in the C locale: it
escapes every non-ASCII byte in octal) and session-utf8.mi (LC_ALL=C.UTF-8: bytes from 0xa0 on
arrive raw, the others in octal).

Usage: tests/data/gdbmi/capture.py [GO]      (GO defaults to /usr/lib/go-1.23/bin/go)
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GO = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/go-1.23/bin/go"
# The directory name the tests look for in gdb's file names (UTF-8 on disk).
DIR_NAME = "каталог ünï"

work = tempfile.mkdtemp(prefix="gorepro-mi-capture-")
src = os.path.join(work, DIR_NAME)
shutil.copytree(os.path.join(HERE, "capture"), src)
binary = os.path.join(src, "capture")
env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false", GOCACHE=os.path.join(work, "cache"))
subprocess.run([GO, "build", "-o", binary, "."], cwd=src, env=env, check=True)


def q(s):  # an MI c-string argument
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


COMMANDS = [
    "-gdb-version",
    "-list-features",
    "-gdb-set mi-async on",
    "-gdb-set pagination off",
    "-gdb-set confirm off",
    "-gdb-set auto-load safe-path /nonexistent",
    "-file-exec-and-symbols " + q(binary),
    "-inferior-tty-set /dev/null",
    "-break-insert main.stop",
    "-break-insert nosuchfunction",
    "-exec-run",  # then wait for *stopped
    "-thread-info",
    "-thread-list-ids",
    "-stack-list-frames",
    "-stack-list-variables --all-values",
    "-data-list-register-values --skip-unavailable x 0 1 2 14 16 17",
    "-data-evaluate-expression label",
    "-data-read-memory-bytes main.main 65536",
    "-interpreter-exec console \"info threads\"",
    "-interpreter-exec console " + q('echo "quoted" \\\\ and tab:\\t and ü\\n'),
    "-exec-continue",  # then wait for *stopped (exited)
    "-gdb-exit",
]
WAIT_STOPPED = {"-exec-run", "-exec-continue"}

class Gdb:
    def __init__(self, lc_all):
        env = dict(os.environ, LC_ALL=lc_all)
        self.proc = subprocess.Popen(["gdb", "--interpreter=mi3", "--nx", "-q"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=src, env=env)
        self.captured = bytearray()
        self.buf = b""

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise SystemExit("gdb closed its output")
            self.captured.extend(chunk)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def wait_for(self, pred):
        while not pred(self.read_line()):
            pass


def capture(out, lc_all):
    gdb = Gdb(lc_all)
    gdb.wait_for(lambda l: l.startswith(b"(gdb)"))  # the first prompt
    for token, cmd in enumerate(COMMANDS, start=1):
        gdb.proc.stdin.write(f"{token}{cmd}\n".encode())
        gdb.proc.stdin.flush()
        tok = str(token).encode()
        gdb.wait_for(lambda l: l.startswith(tok + b"^"))
        if cmd == "-gdb-exit":
            break
        if cmd in WAIT_STOPPED:
            gdb.wait_for(lambda l: l.startswith(b"*stopped"))
        else:
            gdb.wait_for(lambda l: l.startswith(b"(gdb)"))
    gdb.captured.extend(gdb.proc.stdout.read())
    gdb.proc.wait()
    with open(out, "wb") as f:
        f.write(gdb.captured)
    lines = gdb.captured.count(b"\n")
    print(f"capture.py: {len(gdb.captured)} bytes, {lines} lines -> {out}")


capture(os.path.join(HERE, "session.mi"), "C")
capture(os.path.join(HERE, "session-utf8.mi"), "C.UTF-8")
shutil.rmtree(work)
