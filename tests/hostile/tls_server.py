#!/usr/bin/env python3
"""A TLS server that misbehaves on purpose, for tests, on 127.0.0.1 only.

usage: tls_server.py MODE PORT CERT KEY   (PORT 0: the kernel picks; "port N" is printed)

TLS runs through the ssl module's memory BIOs (ssl.SSLObject), so the test decides what
goes on the wire and when. Modes:
  ok                  a whole response per request (Content-Length), keep-alive; with an
                      expired certificate, one for another name or one from an unknown CA,
                      the client's verification is what fails
  close_after_body    a whole response with Connection: close, then a TCP close without
                      close_notify: not an error
  stall               reads the ClientHello and never answers
  plaintext_reply     answers the ClientHello with a plaintext HTTP/1.1 400
  alert_mid_body      half a body, then a fatal alert (bad_record_mac, made by OpenSSL
                      itself from a corrupted record fed to the server's side)
  truncated_record    half of a response's TLS record, then a TCP close
  close_mid_body      half a body, then a TCP close without close_notify
  dribble             as ok, but every flight (the handshake's too) leaves in pieces of 1 to
                      17 bytes, each its own segment, and a response is two records: the
                      client reads records split across receives at every kind of boundary
  tls12_hellos        a whole response with Connection: close, from a server that speaks
                      TLS 1.2 at most; prints "hello key_share=0|1" for each ClientHello
                      (whether it carried a TLS 1.3 key share)
The server stops by itself after 120 s, so a killed test can never leave it behind.
"""
import socket
import ssl
import sys
import threading
import time

LIFETIME_S = 120
BODY = b"x" * 1000


def response(close=False):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(BODY)
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + BODY


class Tls:
    """One connection's TLS: ciphertext moves between the socket and two memory BIOs."""

    def __init__(self, ctx, sock, dribble=False):
        self.sock = sock
        self.dribble = dribble
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)

    def send(self, data):
        if not self.dribble:
            self.sock.sendall(data)
            return
        p, n = 0, 1
        while p < len(data):
            self.sock.sendall(data[p : p + n])
            p += n
            n = n % 17 + 1
            time.sleep(0.0002)

    def flush(self):
        data = self.out.read()
        if data:
            self.send(data)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.inc.write(data)

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()

    def read_request(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            try:
                buf += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()
            except ssl.SSLZeroReturnError:
                raise EOFError
        return buf

    def records(self, data):
        """data as records, returned rather than sent"""
        self.obj.write(data)
        return self.out.read()


def serve(mode, ctx, sock):
    if mode == "stall":
        sock.recv(65536)
        time.sleep(LIFETIME_S)
        return
    if mode == "plaintext_reply":
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        sock.close()
        return
    tls = Tls(ctx, sock, dribble=mode == "dribble")
    if tls.dribble:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls.handshake()
    while True:
        tls.read_request()
        if mode == "ok":
            sock.sendall(tls.records(response()))
        elif mode == "dribble":
            whole = response()
            tls.send(tls.records(whole[:600]) + tls.records(whole[600:]))
        elif mode in ("close_after_body", "tls12_hellos"):
            sock.sendall(tls.records(response(close=True)))
            sock.close()
            return
        elif mode == "close_mid_body":
            sock.sendall(tls.records(response()[:-500]))
            sock.close()
            return
        elif mode == "truncated_record":
            record = tls.records(response())
            sock.sendall(record[: len(record) // 2])
            sock.close()
            return
        elif mode == "alert_mid_body":
            sock.sendall(tls.records(response()[:-500]))
            # a record the server's side cannot decrypt: OpenSSL answers with a fatal
            # bad_record_mac alert, encrypted as the connection's records are
            tls.inc.write(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)
            try:
                tls.obj.read(1)
            except ssl.SSLError:
                pass
            tls.flush()
            time.sleep(0.2)
            sock.close()
            return


def has_key_share(hello):
    """Whether a ClientHello (its handshake header first) has a key_share extension."""
    p = 4 + 2 + 32  # header, legacy_version, random
    p += 1 + hello[p]  # session id
    p += 2 + int.from_bytes(hello[p : p + 2], "big")  # cipher suites
    p += 1 + hello[p]  # compression methods
    end = p + 2 + int.from_bytes(hello[p : p + 2], "big")
    p += 2
    while p + 4 <= end:
        kind, n = int.from_bytes(hello[p : p + 2], "big"), int.from_bytes(hello[p + 2 : p + 4], "big")
        if kind == 51:
            return True
        p += 4 + n
    return False


def log_hellos(conn, direction, version, content_type, msg_type, data):
    if direction == "read" and content_type == ssl._TLSContentType.HANDSHAKE and msg_type == ssl._TLSMessageType.CLIENT_HELLO:
        print("hello key_share=%d" % has_key_share(data), flush=True)


def main():
    mode, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if mode == "tls12_hellos":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx._msg_callback = log_hellos
    ctx.set_alpn_protocols(["http/1.1"])
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(128)
    print("port", lsock.getsockname()[1], flush=True)
    deadline = time.time() + LIFETIME_S
    lsock.settimeout(1)
    while time.time() < deadline:
        try:
            conn, _ = lsock.accept()
        except socket.timeout:
            continue

        def run(c=conn):
            try:
                serve(mode, ctx, c)
            except (EOFError, OSError, ssl.SSLError):
                pass
            finally:
                try:
                    c.close()
                except OSError:
                    pass

        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    main()
