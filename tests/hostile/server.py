#!/usr/bin/env python3
"""Misbehaving TCP servers for tests, on 127.0.0.1 only.

usage: server.py MODE PORT
  silent   accept connections, read requests, never answer
  backlog  listen with a backlog of 0 and never accept: later SYNs go unanswered
It stops by itself after 120 s so a killed test can never leave it behind.
"""
import socket
import sys
import threading
import time

LIFETIME_S = 120


def silent(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    held = []

    def drain(conn):
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    while True:
        conn, _ = srv.accept()
        held.append(conn)
        threading.Thread(target=drain, args=(conn,), daemon=True).start()


def backlog(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(0)
    # fill the accept queue ourselves so every client SYN after it is dropped
    fillers = []
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(LIFETIME_S)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    threading.Timer(LIFETIME_S, lambda: __import__("os")._exit(0)).start()
    {"silent": silent, "backlog": backlog}[mode](port)


if __name__ == "__main__":
    main()
