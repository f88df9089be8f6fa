"""Another local user against a running qemu deployment (run as `nobody` by isolation.test.ts).

usage: intruder.py TOKEN SNIFF_SECONDS PID... [-- PATH...]

For each QEMU pid: reads its command line as any user can (/proc/PID/cmdline), looks for
TOKEN in it and in any inline deployment (deploy=gz:/base64), then tries every endpoint and
file the command line names: joins a multicast segment (sniffs frames for SNIFF_SECONDS and
sends one), connects to unix sockets (and writes a frame), opens files. PATHs after `--` are
extra files to read (console logs). Prints one JSON object per finding on stdout:
{"kind": "secret"|"sniffed"|"injected"|"read"|"connected"|"denied"|"info", ...}.
"""
import base64
import gzip
import json
import os
import re
import socket
import struct
import sys
import time


def say(kind, **kw):
    print(json.dumps({"kind": kind, **kw}), flush=True)


def decode_deploy(value):
    try:
        if value.startswith("gz:"):
            return gzip.decompress(base64.b64decode(value[3:])).decode("utf-8", "replace")
        return base64.b64decode(value).decode("utf-8", "replace")
    except Exception:
        return ""


def try_read(path, token, why):
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as e:
        say("denied", what=why, path=path, error=e.strerror)
        return
    say("read", what=why, path=path, bytes=len(data))
    if token.encode() in data:
        say("secret", where=f"{why} {path}")
    for m in re.finditer(rb"deploy=([A-Za-z0-9+/=:]+)", data):
        if token in decode_deploy(m.group(1).decode()):
            say("secret", where=f"deploy= printed in {why} {path}")


def frame():
    # broadcast ARP-looking frame from a MAC no VM has
    return b"\xff" * 6 + b"\x02\x00\x00\xba\xdb\xad" + b"\x08\x06" + b"\x00" * 46


def try_mcast(group, port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.settimeout(0.5)
    seen = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            s.recv(65536)
            seen += 1
        except socket.timeout:
            pass
    if seen:
        say("sniffed", segment=f"{group}:{port}", frames=seen)
    s.sendto(frame(), (group, port))
    say("injected", segment=f"{group}:{port}")


def try_unix(path, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        say("denied", what="unix socket", path=path, error=e.strerror)
        return
    say("connected", path=path)
    f = frame()
    s.sendall(struct.pack(">I", len(f)) + f)
    say("injected", segment=path)
    s.settimeout(0.5)
    seen = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            if s.recv(65536):
                seen += 1
        except socket.timeout:
            pass
    if seen:
        say("sniffed", segment=path, reads=seen)


def main():
    token = sys.argv[1]
    seconds = float(sys.argv[2])
    rest = sys.argv[3:]
    extra = []
    if "--" in rest:
        extra = rest[rest.index("--") + 1:]
        rest = rest[: rest.index("--")]
    for pid in rest:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError as e:
            say("info", pid=pid, error=e.strerror)
            continue
        line = " ".join(argv)
        say("info", pid=pid, argc=len(argv))
        if token in line:
            say("secret", where=f"command line of pid {pid}")
        for m in re.finditer(r"deploy=([A-Za-z0-9+/=:]+)", line):
            if token in decode_deploy(m.group(1)):
                say("secret", where=f"deploy= on the command line of pid {pid}")
        for m in re.finditer(r"mcast=([0-9.]+):(\d+)", line):
            try_mcast(m.group(1), int(m.group(2)), seconds)
        for m in re.finditer(r"(?:addr\.path|local\.path|remote\.path|sock)=([^,\s]+)", line):
            try_unix(m.group(1), seconds)
        for m in re.finditer(r"--socket\s+(\S+)", line):
            try_unix(m.group(1), seconds)
        named = []
        for i, a in enumerate(argv):
            if a in ("-readconfig", "-pidfile") and i + 1 < len(argv):
                named.append(argv[i + 1])
                try_read(argv[i + 1], token, a)
            for m in re.finditer(r"unix:([^,]+)", a):
                named.append(m.group(1))
                try_unix(m.group(1), 0)
            for m in re.finditer(r"(?:^|,)file:([^,]+)", a):
                try_read(m.group(1), token, "file:")
            for m in re.finditer(r"cmd:/bin/sh (\S+)", a):
                named.append(m.group(1))
                try_read(m.group(1), token, "guestfwd script")
        # the folders those files live in: everything else QEMU keeps there
        for d in sorted({os.path.dirname(p) for p in named if p.startswith("/")}):
            try:
                entries = os.listdir(d)
            except OSError as e:
                say("denied", what="folder", path=d, error=e.strerror)
                continue
            say("read", what="folder", path=d, entries=len(entries))
            for e in entries:
                if os.path.isfile(os.path.join(d, e)):
                    try_read(os.path.join(d, e), token, "file in the folder")
    for p in extra:
        try_read(p, token, "extra")


main()
