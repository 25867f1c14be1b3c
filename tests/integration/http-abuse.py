#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A misbehaving HTTP client for tests/integration/test-http.sh: many idle connections, an over-long
# request line, a client that asks and never reads. It prints one "KEY VALUE" line per fact for the
# script to check; every wait is bounded. Standard library only.
#
#   http-abuse.py HOST PORT idle COUNT SECONDS     COUNT silent connections held for SECONDS
#   http-abuse.py HOST PORT longline BYTES         a GET whose request line is BYTES long
#   http-abuse.py HOST PORT noread PATH SECONDS    ask PATH many times on one connection, never read
import resource
import select
import socket
import sys
import time


def connect(host, port, timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    return s


def idle(host, port, count, seconds):
    # Room for the connections: the default soft limit is often 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, count + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    sockets, failed = [], 0
    for _ in range(count):
        try:
            sockets.append(connect(host, port))
        except OSError:
            failed += 1
    print("opened", len(sockets))
    print("connect_failed", failed)
    sys.stdout.flush()
    time.sleep(seconds)
    # Which of them the server closed meanwhile (a full server closes the ones it cannot take, an
    # idle timeout the others): a read that returns b"" at once, or an error.
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("closed_by_server", closed)


def longline(host, port, length):
    s = connect(host, port)
    path = b"/" + b"a" * max(length - len(b"GET / HTTP/1.1"), 0)
    request = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    # In pieces, looking for an answer between them: a server that refuses early answers and closes
    # while the rest is still on its way (then the reset may swallow its answer: send_error).
    sent, data = 0, b""
    s.settimeout(10)
    try:
        while sent < len(request):
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            sent += s.send(request[sent:sent + 16384])
    except OSError as e:
        print("send_error", e.errno)
    print("sent", sent)
    try:
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    print("status", parts[1] if len(parts) > 1 and line.startswith("HTTP/") else "none")
    s.close()


def noread(host, port, path, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small window: the server's answers pile up on its side.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect((host, port))
    request = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode()
    s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and sent < 1000:
        try:
            s.send(request)
            sent += 1
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            break
    print("requests", sent)
    sys.stdout.flush()
    time.sleep(seconds)
    s.close()


def main():
    if len(sys.argv) < 4:
        print(__doc__ or "usage: see the file's head", file=sys.stderr)
        return 2
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "idle":
        idle(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "longline":
        longline(host, port, int(sys.argv[4]))
    elif mode == "noread":
        noread(host, port, sys.argv[4], float(sys.argv[5]))
    else:
        print("unknown mode", mode, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
