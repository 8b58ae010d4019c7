#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 in front of a server, for the dashboard's slow-server test: while
the file FLAG exists, every chunk a client sends waits DELAY seconds before it is passed on
(TLS goes through untouched). Usage: slowproxy.py TARGET-PORT FLAG PORT-FILE DELAY
"""
import os
import socket
import sys
import threading
import time

target_port, flag, port_file, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])


def pump(src, dst, slow):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if slow and os.path.exists(flag):
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    conn, _ = listener.accept()
    serve(conn)
