#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A webhook receiver for the integration tests, on the Python standard library alone.

Listens on 127.0.0.1 (HTTPS with --cert/--key, else plain HTTP) and records every request as one
JSON line in --log (flushed and fsynced before the answer goes out): arrival time, method, path,
headers, body, the answer given and whether X-Tlswatch-Signature verified against --secret-file.

Its behaviour is read from --control before each request, so a test switches it at run time:
    ok              200
    500 | 400 | NNN that status code
    429:SECONDS     429 with "Retry-After: SECONDS"
    hang:SECONDS    sleep SECONDS, then 200 (the client may have given up by then)
    big:BYTES       200 with a body of BYTES bytes, written as fast as the client reads
    drip            200 "ok", the whole answer one byte a second, status line first
The file may hold several words, used one per request, the last one for good; "WORD*N" stands for N
times WORD: "500*5 ok" answers 500 five times, then 200. A last word "cycle" starts the list over
instead: "500 ok*3 cycle" fails one request in four for as long as it runs. Writing a different text
starts over. A missing or empty control file means "ok".

The test stops and starts it by PID: a receiver that is "down" is simply not running. --port 0
picks a free port; the port in use is written to --port-file atomically once it listens.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time


class Behaviour:
    """The control file's words and how many requests have used them since the text last changed."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.text = None
        self.used = 0

    @staticmethod
    def expand(text):
        words = []
        for word in text.split():
            name, star, count = word.partition("*")
            if star:
                try:
                    n = int(count)
                except ValueError:
                    n = 1
                words.extend([name] * max(n, 0))
            else:
                words.append(word)
        return words or ["ok"]

    def next(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, TypeError):
            text = ""
        with self.lock:
            if text != self.text:
                self.text = text
                self.used = 0
            words = self.expand(text)
            if len(words) > 1 and words[-1] == "cycle":
                word = words[self.used % (len(words) - 1)]
            else:
                word = words[min(self.used, len(words) - 1)]
            self.used += 1
            return word


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")
        self.sequence = 0

    def write(self, record):
        with self.lock:
            self.sequence += 1
            record["seq"] = self.sequence
            self.file.write(json.dumps(record, sort_keys=True) + "\n")
            self.file.flush()
            os.fsync(self.file.fileno())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tlswatch-test-receiver/1"

    def setup(self):
        # The handshake happens here, in the request's thread, so a stuck client cannot block accept().
        self.request.settimeout(30)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # the JSON log is the record; keep stderr for real trouble

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def answer_big(self, size):
        chunk = b"x" * 65536
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(size))
            self.send_header("Connection", "close")
            self.end_headers()
            while size > 0:
                self.wfile.write(chunk[:size])
                size -= min(size, len(chunk))
        except OSError:
            pass  # the client stopped reading, which is the point

    def answer_drip(self):
        self.close_connection = True
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        try:
            for i in range(len(answer)):
                self.wfile.write(answer[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass  # the client gave up

    def signature_ok(self, raw):
        secret = self.server.secret
        if secret is None:
            return None
        given = self.headers.get("X-Tlswatch-Signature")
        timestamp = self.headers.get("X-Tlswatch-Timestamp")
        if given is None or timestamp is None:
            return False
        digest = hmac.new(secret, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given, "sha256=" + digest)

    def handle_any(self):
        arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        word = self.server.behaviour.next()

        status, delay, headers = 200, 0.0, []
        name, _, argument = word.partition(":")
        if name == "hang":
            delay = float(argument or 5)
        elif name == "429":
            status = 429
            headers.append(("Retry-After", argument or "1"))
        elif name.isdigit():
            status = int(name)

        header_map = {}
        for key, value in self.headers.items():
            key = key.lower()
            header_map[key] = header_map[key] + ", " + value if key in header_map else value
        self.server.log.write({
            "time": arrived,
            "method": self.command,
            "path": self.path,
            "headers": header_map,
            "body": raw.decode("utf-8", errors="replace"),
            "signature_ok": self.signature_ok(raw),
            "behaviour": word,
            "status": status,
        })

        if name == "big":
            self.answer_big(int(argument or 100 * 1024 * 1024))
            return
        if name == "drip":
            self.answer_drip()
            return
        if delay:
            time.sleep(delay)
        try:
            self.answer(status, b"ok\n" if status < 300 else f"status {status} from the test receiver\n".encode(),
                        headers)
        except OSError:
            pass  # the client gave up waiting

    do_POST = handle_any
    do_PUT = handle_any
    do_GET = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that rejects our certificate ends the handshake: expected in the tests, not a crash.
        error = sys.exc_info()[1]
        print(f"webhook-receiver: {client_address[0]}:{client_address[1]}: {error!r}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--log", required=True)
    parser.add_argument("--control")
    parser.add_argument("--cert", help="PEM certificate chain: serve HTTPS")
    parser.add_argument("--key", help="PEM private key for --cert")
    parser.add_argument("--secret-file", help="the HMAC key the signatures are checked against")
    options = parser.parse_args()

    server = Server(("127.0.0.1", options.port), Handler)
    server.behaviour = Behaviour(options.control)
    server.log = Log(options.log)
    server.secret = None
    if options.secret_file:
        with open(options.secret_file, "rb") as f:
            server.secret = f.read().split(b"\n")[0].rstrip(b"\r")
    if options.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.cert, options.key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    port = server.server_address[1]
    if options.port_file:
        temporary = options.port_file + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
            f.flush()
            os.fsync(f.fileno())
        os.rename(temporary, options.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
