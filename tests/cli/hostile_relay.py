#!/usr/bin/env python3
"""A relay that lies: it speaks enough of protocol v1 for setup, family,
sync and inbox, and fills every id and name it can with quotes, newlines,
terminal escape sequences and bidirectional overrides.

Usage: hostile_relay.py PORT_FILE NOTE.opus
Writes the port it listens on (127.0.0.1) into PORT_FILE, and the hostile
name and id into PORT_FILE.text as JSON.
"""
import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ESC [ 2 J clears a screen, ESC ] 0 ; ... BEL retitles a terminal, U+009B is
# the one-byte CSI, U+202E turns the rest of a line around.
EVIL = "\"q\\\n\x1b[2J\x1b]0;pwned\x07\u009b31m\u202eevil\r"
EVIL_ID = "\x1b[31m\"id\n\u009b" + "x" * 25        # 36 bytes, no UUID: the store refuses it
MEMBER = "ab" * 16                                   # a device id the client accepts
GOOD_ID = "0f0f0f0f-1111-4222-8333-444455556666"
OTHER_ID = "0f0f0f0f-1111-4222-8333-444455557777"

note = open(sys.argv[2], "rb").read()
sha = hashlib.sha256(note).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=()):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        self.read_body()
        if self.path == "/v1/families":
            self.answer(201, {"family_id": "cd" * 16, "device_id": "ef" * 16, "token": "01" * 32,
                              "invite": {"code": "0123456789", "expires_at": 1795554060}})
        elif self.path == "/v1/pairings":
            self.answer(201, {"expires_at": 1795554060})
        elif self.path.startswith("/v1/messages/") and self.path.endswith("/receipts"):
            self.answer(204)
        else:
            self.answer(404, {"error": {"code": "not_found", "message": EVIL}})

    def do_PUT(self):
        self.read_body()  # the family's signed roster: taken, never served back
        self.answer(204)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/v1/family":
            self.answer(200, {"family_id": "cd" * 16, "device_id": "ef" * 16, "members": [
                {"device_id": "ef" * 16, "name": "me", "joined_at": 1},
                {"device_id": MEMBER, "name": EVIL, "joined_at": 2}]})
        elif path == "/v1/inbox":
            if args.get("after", "0") != "0":
                self.answer(200, {"messages": [], "cursor": int(args["after"])})
                return
            entry = {"length": len(note), "duration_ms": 1000, "sha256": sha, "sent_at": 1}
            self.answer(200, {"cursor": 3, "messages": [
                dict(entry, cursor=1, message_id=EVIL_ID, **{"from": MEMBER}),
                dict(entry, cursor=2, message_id=GOOD_ID, **{"from": MEMBER}),
                dict(entry, cursor=3, message_id=OTHER_ID, **{"from": EVIL})]})
        elif path in ("/v1/messages/" + GOOD_ID, "/v1/messages/" + OTHER_ID):
            self.answer(200, note, [("Content-Type", "application/octet-stream"),
                                    ("ETag", '"%s"' % sha), ("Accept-Ranges", "bytes")])
        elif path == "/v1/receipts":
            self.answer(200, {"cursor": 1, "receipts": [
                {"cursor": 1, "message_id": EVIL_ID, "device_id": MEMBER, "state": "played", "at": 1}]})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": EVIL}})

    do_HEAD = do_GET


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".text", "w") as f:  # what the client must give back exactly
    json.dump({"name": EVIL, "id": EVIL_ID}, f)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
