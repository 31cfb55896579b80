#!/usr/bin/env python3
"""A plain TCP relay front that counts the bytes crossing it each way, as a
capture would: the sync client's own counting is checked against it.

    byte_counter.py PORT_FILE TARGET_PORT STATS_FILE

STATS_FILE is rewritten (atomically) after every read: "UP DOWN", bytes
from the client to the relay and back, over every connection so far."""
import os
import socket
import sys
import threading

port_file, target, stats_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
totals = [0, 0]


def publish():
    tmp = stats_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (totals[0], totals[1]))
    os.replace(tmp, stats_file)


def pump(src, dst, way):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with lock:
                totals[way] += len(data)
                publish()
            dst.sendall(data)
    except OSError:
        pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(client, upstream, 0), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, 1), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with lock:
    publish()
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
os.replace(port_file + ".tmp", port_file)
while True:
    conn, _ = listener.accept()
    serve(conn)
