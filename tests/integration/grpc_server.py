#!/usr/bin/python3
"""A python3-grpcio UserService server for tests, on 127.0.0.1 only.

usage: grpc_server.py STUBS_DIR COUNTS_FILE
Prints "port N" once listening. Every fifth call (by arrival) answers UNAVAILABLE, and
ids outside 1..10000 answer NOT_FOUND. On SIGTERM it writes its own per-status counts
as JSON to COUNTS_FILE and exits. It stops by itself after 120 s.
"""
import sys
import threading

import grpc

from grpc_harness import serve

sys.path.insert(0, sys.argv[1])
import user_service_pb2 as pb  # noqa: E402

counts = {}
lock = threading.Lock()
calls = 0


def count(code):
    counts[code] = counts.get(code, 0) + 1


def get_user(request, context):
    global calls
    with lock:
        calls += 1
        n = calls
        if n % 5 == 0:
            count("UNAVAILABLE")
            context.abort(grpc.StatusCode.UNAVAILABLE, "every fifth call")
        if not 1 <= request.user_id <= 10000:
            count("NOT_FOUND")
            context.abort(grpc.StatusCode.NOT_FOUND, "user not found")
        count("OK")
    u = pb.User(id=request.user_id, name=f"User {request.user_id}", email="u@example.com",
                age=30, created_at="2024-01-01T00:00:00Z")
    return pb.GetUserResponse(user=u)


def main():
    def snapshot():
        with lock:
            return dict(counts)
    serve("api.performance.UserService",
          {"GetUser": (get_user, pb.GetUserRequest, pb.GetUserResponse)}, sys.argv[2], snapshot)


if __name__ == "__main__":
    main()
