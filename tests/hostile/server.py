#!/usr/bin/env python3
"""Servers that misbehave on purpose, for tests, on 127.0.0.1 only.

usage: server.py MODE PORT     (PORT 0: the kernel picks; "port N" is printed either way)

MODE is one of the names in H1, H2 or the special modes below. An HTTP/1.1 mode answers
every request with its canned bytes, then keeps the connection, closes it, resets it
(RST) or leaves it hanging. An HTTP/2 mode (h2_*, grpc_*) speaks just enough HTTP/2 with
hand-built frames to break one rule. The server stops by itself after 120 s, so a killed
test can never leave it behind.
"""
import os
import socket
import struct
import sys
import threading
import time

LIFETIME_S = 120


def response(status_line, headers=(), body=b""):
    head = status_line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"
    return head + body


OK2 = response(b"HTTP/1.1 200 OK", [b"Content-Length: 2"], b"ok")
BIG_HEADERS = b"".join(b"X-Pad-%06d: %s\r\n" % (i, b"a" * 1000) for i in range(1100))  # ~1.1 MiB
HEADERS_16K = b"".join(b"X-Pad-%02d: %s\r\n" % (i, b"b" * 1000) for i in range(16))

# name: (bytes to send per request, then: "keep" | "close" | "rst" | "hang" | "slow" | "bytewise")
H1 = {
    # broken: each must be counted as a named failure
    "garbage_status": (b"HELLO THERE\r\n\r\n", "close"),
    "nonnumeric_status": (response(b"HTTP/1.1 2x0 OK", [b"Content-Length: 0"]), "keep"),
    "header_without_colon": (response(b"HTTP/1.1 200 OK", [b"NoColonHere", b"Content-Length: 2"], b"ok"), "keep"),
    "nul_in_header": (response(b"HTTP/1.1 200 OK", [b"X-A: a\x00b", b"Content-Length: 2"], b"ok"), "keep"),
    "header_block_1mib": (b"HTTP/1.1 200 OK\r\n" + BIG_HEADERS + b"Content-Length: 2\r\n\r\nok", "close"),
    "negative_content_length": (response(b"HTTP/1.1 200 OK", [b"Content-Length: -5"], b"ok"), "keep"),
    "overflowing_content_length": (response(b"HTTP/1.1 200 OK", [b"Content-Length: 99999999999999999999999"]), "keep"),
    "conflicting_content_length": (response(b"HTTP/1.1 200 OK", [b"Content-Length: 2", b"Content-Length: 3"], b"ok"), "keep"),
    "invalid_chunk_size": (response(b"HTTP/1.1 200 OK", [b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n"), "keep"),
    "overflowing_chunk_size": (response(b"HTTP/1.1 200 OK", [b"Transfer-Encoding: chunked"], b"fffffffffffffffffffff\r\nhello\r\n"), "keep"),
    "short_body_then_close": (response(b"HTTP/1.1 200 OK", [b"Content-Length: 100"], b"only this"), "close"),
    "close_before_any_byte": (b"", "close"),
    "rst_mid_body": (response(b"HTTP/1.1 200 OK", [b"Content-Length: 100000"], b"x" * 1000), "rst"),
    "slowloris": (OK2 + b" " * 0, "slow"),
    "never_answers": (b"", "hang"),
    "unrequested_bytes": (OK2 + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nsurprise", "close"),
    # valid but unusual: each must succeed
    "chunked_extensions_trailers": (response(b"HTTP/1.1 200 OK", [b"Transfer-Encoding: chunked"],
                                             b"5;name=value;q=\"x\"\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"), "keep"),
    "interim_100_103": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + OK2, "keep"),
    "http10_body_until_close": (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"y" * 3000, "close"),
    "headers_16k": (b"HTTP/1.1 200 OK\r\n" + HEADERS_16K + b"Content-Length: 2\r\n\r\nok", "keep"),
    "one_byte_at_a_time": (response(b"HTTP/1.1 200 OK", [b"Content-Length: 5", b"X-Slow: yes"], b"hello"), "bytewise"),
}


def read_request(conn, buf):
    """One request's head (and a Content-Length body); returns the rest, or None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None
        rest += data
    return rest[length:]


def serve_h1(conn, mode):
    payload, after = H1[mode]
    buf = b""
    while True:
        buf = read_request(conn, buf)
        if buf is None:
            return
        if after == "hang":
            continue
        if after == "slow":  # one byte every 500 ms
            for i in range(len(payload)):
                conn.sendall(payload[i:i + 1])
                time.sleep(0.5)
            continue
        if after == "bytewise":
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(payload)):
                conn.sendall(payload[i:i + 1])
                time.sleep(0.0005)
            continue
        conn.sendall(payload)
        if after == "close":
            conn.shutdown(socket.SHUT_WR)
            time.sleep(0.05)
            return
        if after == "rst":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return


# ---- HTTP/2 by hand (RFC 9113): just enough framing to break one rule at a time ----

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack(headers):
    """Literal header fields without indexing, new names, no Huffman (RFC 7541 6.2.2)."""
    out = b""
    for name, value in headers:
        out += b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value
    return out


def grpc_message(body, flag=0):
    return bytes([flag]) + struct.pack(">I", len(body)) + body


USER = b"\x0a\x06\x08\x2a\x12\x02ab"  # GetUserResponse{user{id 42, name "ab"}}
GRPC_HEAD = [(b":status", b"200"), (b"content-type", b"application/grpc")]
GRPC_OK = [(b"grpc-status", b"0")]


class H2Peer:
    def __init__(self, conn, mode):
        self.conn, self.mode, self.answered = conn, mode, 0

    def send(self, data):
        self.conn.sendall(data)

    def headers(self, stream, headers, end_stream=False):
        self.send(frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream, hpack(headers)))

    def run(self):
        conn, mode = self.conn, self.mode
        buf = b""
        while len(buf) < len(PREFACE):
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        buf = buf[len(PREFACE):]
        if mode == "h2_bad_preface":
            self.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            time.sleep(0.2)
            return
        settings = struct.pack(">HI", 4, 0) if mode == "h2_window_zero" else b""  # INITIAL_WINDOW_SIZE
        self.send(frame(SETTINGS, 0, 0, settings))
        if mode == "h2_settings_flood":
            self.send(b"".join(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) for _ in range(20000)))
        if mode == "h2_ping_flood":
            self.send(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(20000)))
        while True:
            while len(buf) < 9:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            length = int.from_bytes(buf[:3], "big")
            while len(buf) < 9 + length:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            ftype, flags = buf[3], buf[4]
            stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
            if ftype == GOAWAY:  # the client closing like a peer should: say what it sent
                last, code = struct.unpack(">II", buf[9:17])
                print("client GOAWAY last_stream_id=%d error_code=%d debug=%r"
                      % (last & 0x7FFFFFFF, code, bytes(buf[17:9 + length])), flush=True)
            buf = buf[9 + length:]
            if ftype == DATA and length:  # give the window back, or requests stall
                credit = struct.pack(">I", length)
                self.send(frame(WINDOW_UPDATE, 0, 0, credit) + frame(WINDOW_UPDATE, 0, stream, credit))
            if ftype == SETTINGS and not flags & ACK:
                self.send(frame(SETTINGS, ACK, 0))
            elif ftype in (HEADERS, DATA) and flags & END_STREAM:
                what = self.respond(stream)
                if what == "stop":
                    return
                if what == "linger":  # a connection error sent: read what the client says, then go
                    self.linger(buf)
                    return

    def linger(self, buf):
        self.conn.settimeout(2)
        try:
            while True:
                while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                    length = int.from_bytes(buf[:3], "big")
                    if buf[3] == GOAWAY:
                        last, code = struct.unpack(">II", buf[9:17])
                        print("client GOAWAY last_stream_id=%d error_code=%d debug=%r"
                              % (last & 0x7FFFFFFF, code, bytes(buf[17:9 + length])), flush=True)
                    buf = buf[9 + length:]
                data = self.conn.recv(65536)
                if not data:
                    print("client closed", flush=True)
                    return
                buf += data
        except OSError:
            return

    def respond(self, stream):
        mode = self.mode
        self.answered += 1
        broken = self.broken_response(stream)
        if broken is not None:
            return broken
        if mode == "h2_goaway_mid_run" and self.answered == 20:
            # the 20th stream is never answered: GOAWAY names the 19th as the last one seen
            self.send(frame(GOAWAY, 0, 0, struct.pack(">II", stream - 2, 0)))
            time.sleep(0.05)
            return "stop"
        if mode == "h2_rst_some_streams" and self.answered % 3 == 0:
            self.send(frame(RST_STREAM, 0, stream, struct.pack(">I", 2)))  # INTERNAL_ERROR
            return None
        if mode == "h2_continuation_flood":
            self.send(frame(HEADERS, 0, stream, hpack([(b":status", b"200")])))
            block = frame(CONTINUATION, 0, stream, hpack([(b"x-flood", b"z" * 1000)]))
            try:
                while True:  # never END_HEADERS
                    self.send(block * 64)
            except OSError:
                return "stop"
        if mode in ("h2_window_zero", "h2_never_answers"):
            return None  # the request body can never be sent: nothing arrives to answer
        if mode.startswith("grpc_"):
            return self.grpc(stream)
        self.headers(stream, [(b":status", b"200"), (b"content-length", b"2")])
        self.send(frame(DATA, END_STREAM, stream, b"ok"))
        return None

    def broken_response(self, stream):
        """The HTTP/2 error paths: "stop" ends the connection, False answers nothing more
        on this stream, None is not one of these modes."""
        mode = self.mode
        if mode == "h2_goaway_error_close":  # refuse everything, with an error, and close
            self.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 2)))  # INTERNAL_ERROR
            self.conn.shutdown(socket.SHUT_WR)  # a FIN after the GOAWAY, not an RST
            return "linger"
        if mode == "h2_goaway_noerror_each":  # graceful, but on every connection, at once
            self.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
            self.conn.shutdown(socket.SHUT_WR)
            return "linger"
        if mode == "h2_refuse_every_stream":
            self.send(frame(RST_STREAM, 0, stream, struct.pack(">I", 7)))  # REFUSED_STREAM
            return False
        if mode == "h2_bad_status":
            self.headers(stream, [(b":status", b"2x0")], end_stream=True)
            return False
        if mode == "h2_missing_status":
            self.headers(stream, [(b"content-type", b"text/plain")], end_stream=True)
            return False
        # rules nghttp2's HTTP messaging checks held before ringload checked them itself
        # (RFC 9113 8.1-8.3): each is the same h2_malformed failure
        broken_heads = {
            "h2_uppercase_field_name": [(b":status", b"200"), (b"X-Upper", b"1")],
            "h2_newline_in_value": [(b":status", b"200"), (b"x-a", b"a\nb")],
            "h2_connection_field": [(b":status", b"200"), (b"connection", b"close")],
            "h2_pseudo_after_regular": [(b":status", b"200"), (b"x-a", b"b"), (b":status", b"200")],
            "h2_request_pseudo_field": [(b":status", b"200"), (b":path", b"/")],
        }
        if mode in broken_heads:
            self.headers(stream, broken_heads[mode], end_stream=True)
            return False
        if mode == "h2_data_short_of_content_length":
            self.headers(stream, [(b":status", b"200"), (b"content-length", b"4")])
            self.send(frame(DATA, END_STREAM, stream, b"ok"))
            return False
        if mode == "h2_interim_and_trailers":  # valid: a 103, the response, trailers
            self.headers(stream, [(b":status", b"103"), (b"link", b"</style.css>; rel=preload")])
            self.headers(stream, [(b":status", b"200"), (b"content-length", b"2")])
            self.send(frame(DATA, 0, stream, b"ok"))
            self.headers(stream, [(b"x-checksum", b"abc")], end_stream=True)
            return False
        if mode == "h2_data_beyond_content_length":
            self.headers(stream, [(b":status", b"200"), (b"content-length", b"2")])
            self.send(frame(DATA, END_STREAM, stream, b"okay"))
            return False
        if mode == "h2_flow_control_overrun":  # a frame larger than the stream's window (run with -w 13)
            self.headers(stream, [(b":status", b"200")])
            self.send(frame(DATA, 0, stream, b"x" * 16384) + frame(DATA, END_STREAM, stream, b"x"))
            return False
        if mode == "h2_data_on_stream_0":
            self.send(frame(DATA, 0, 0, b"stray"))
            return "linger"
        if mode == "h2_bad_settings":  # ENABLE_PUSH may only be 0 or 1 (RFC 9113 6.5.2)
            self.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 2, 7)))
            return "linger"
        if mode == "h2_hpack_error":  # an index past both tables (RFC 7541 2.3.3)
            self.send(frame(HEADERS, END_HEADERS | END_STREAM, stream, b"\xff\xff\x7f"))
            return "linger"
        return None

    def grpc(self, stream):
        mode = self.mode
        if mode == "grpc_http_503":
            self.headers(stream, [(b":status", b"503"), (b"content-type", b"text/plain")], end_stream=True)
            return None
        self.headers(stream, GRPC_HEAD)
        if mode == "grpc_length_prefix_too_long":
            self.send(frame(DATA, 0, stream, bytes([0]) + struct.pack(">I", 100) + USER))
            self.headers(stream, GRPC_OK, end_stream=True)
        elif mode == "grpc_compressed_without_encoding":
            self.send(frame(DATA, 0, stream, grpc_message(USER, flag=1)))
            self.headers(stream, GRPC_OK, end_stream=True)
        elif mode == "grpc_missing_trailers":
            self.send(frame(DATA, END_STREAM, stream, grpc_message(USER)))
        elif mode == "grpc_nonnumeric_status":
            self.send(frame(DATA, 0, stream, grpc_message(USER)))
            self.headers(stream, [(b"grpc-status", b"zero")], end_stream=True)
        elif mode == "grpc_data_after_trailers":
            self.send(frame(DATA, 0, stream, grpc_message(USER)))
            self.headers(stream, GRPC_OK, end_stream=True)
            self.send(frame(DATA, 0, stream, grpc_message(USER)))
        elif mode == "grpc_server_reset":
            self.send(frame(RST_STREAM, 0, stream, struct.pack(">I", 8)))  # CANCEL
        else:
            raise SystemExit("unknown mode " + mode)
        return None


H2 = ["h2_never_answers", "h2_bad_preface", "h2_goaway_mid_run", "h2_rst_some_streams", "h2_continuation_flood",
      "h2_window_zero", "h2_settings_flood", "h2_ping_flood", "grpc_length_prefix_too_long",
      "grpc_compressed_without_encoding", "grpc_missing_trailers", "grpc_nonnumeric_status",
      "grpc_data_after_trailers", "grpc_server_reset", "grpc_http_503",
      "h2_goaway_error_close", "h2_goaway_noerror_each", "h2_refuse_every_stream", "h2_bad_status",
      "h2_missing_status", "h2_data_beyond_content_length", "h2_flow_control_overrun", "h2_data_on_stream_0",
      "h2_bad_settings", "h2_hpack_error", "h2_uppercase_field_name", "h2_newline_in_value",
      "h2_connection_field", "h2_pseudo_after_regular", "h2_request_pseudo_field",
      "h2_data_short_of_content_length", "h2_interim_and_trailers"]


def handle(conn, mode):
    try:
        if mode in H1 or mode == "silent":
            serve_h1(conn, "never_answers" if mode == "silent" else mode)
        else:
            H2Peer(conn, mode).run()
    except OSError as e:  # the client went away: expected, but worth a line when debugging
        print("connection ended:", e, file=sys.stderr, flush=True)
    finally:
        conn.close()


def backlog(srv, port):
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
    time.sleep(0.05)
    print("filled", flush=True)  # (the test waits for this line, not for a guessed time)
    time.sleep(LIFETIME_S)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode not in H1 and mode not in H2 and mode not in ("silent", "backlog"):
        print("unknown mode " + mode, file=sys.stderr)
        sys.exit(2)
    threading.Timer(LIFETIME_S, lambda: os._exit(0)).start()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(0 if mode == "backlog" else 1024)
    print("port %d" % srv.getsockname()[1], flush=True)
    if mode == "backlog":
        backlog(srv, srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
