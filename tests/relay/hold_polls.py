#!/usr/bin/env python3
"""Holds many idle long polls open on a relay, for the scale benchmark.

    hold_polls.py PORT TOKEN COUNT SOURCE[,SOURCE...] STATUS_FILE

Opens COUNT connections to 127.0.0.1:PORT, spread over the SOURCE addresses
(loopback has one ephemeral port range per source address), each sending
GET /v1/inbox?wait=60 with TOKEN, and keeps them open. Writes one line
"opened HELD answered CLOSED failed FAILED" to STATUS_FILE whenever the counts
change, and runs until SIGTERM. A poll the relay answers (its 60 s ran out,
or a message came) is asked again on the same connection, as a device does.
"""
import errno
import os
import selectors
import signal
import socket
import sys
import time

port, token, count, sources, status_path = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                            sys.argv[4].split(','), sys.argv[5])
request = (f"GET /v1/inbox?wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Authorization: Bearer {token}\r\n\r\n").encode()
sel = selectors.DefaultSelector()
stopping = False
held = answered = closed = failed = 0
last_status = None


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)


def write_status():
    global last_status
    line = f"opened {held} answered {answered} closed {closed} failed {failed}\n"
    if line != last_status:
        tmp = status_path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(line)
        os.replace(tmp, status_path)
        last_status = line


def open_one(i):
    global failed
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((sources[i % len(sources)], 0))
        err = s.connect_ex(('127.0.0.1', port))
    except OSError:
        s.close()
        failed += 1
        return False
    if err not in (0, errno.EINPROGRESS):
        s.close()
        failed += 1
        return False
    sel.register(s, selectors.EVENT_WRITE, 'connecting')
    return True


opened_total = connecting = 0
BATCH = 256
while not stopping:
    # Keep at most BATCH connections in the middle of connecting: the
    # relay's listen backlog is finite.
    while opened_total < count and connecting < BATCH:
        if open_one(opened_total):
            connecting += 1
        opened_total += 1
    for key, mask in sel.select(timeout=0.2):
        s = key.fileobj
        if key.data == 'connecting':
            connecting -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                sel.unregister(s)
                s.close()
                failed += 1
                continue
            try:
                s.send(request)
            except OSError:
                sel.unregister(s)
                s.close()
                failed += 1
                continue
            sel.modify(s, selectors.EVENT_READ, 'polling')
            held += 1
        else:
            try:
                data = s.recv(65536)
            except OSError:
                data = b''
            if not data:
                sel.unregister(s)
                s.close()
                held -= 1
                closed += 1
            elif b'HTTP/1.1 ' in data:
                answered += 1
                try:
                    s.send(request)
                except OSError:
                    pass
    write_status()
    if opened_total >= count and not stopping:
        time.sleep(0.05)
for key in list(sel.get_map().values()):
    key.fileobj.close()
