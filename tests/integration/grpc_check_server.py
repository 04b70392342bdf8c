#!/usr/bin/python3
"""A python3-grpcio server for ringtest.Checker/Check (tests/proto/every_kind.proto).

usage: grpc_check_server.py STUBS_DIR EXPECTED_JSON RESULT_FILE
Every call's request is compared with EXPECTED_JSON parsed by protobuf's own JSON
mapping: OK when every field arrived with the value given, else INVALID_ARGUMENT with
the difference. On SIGTERM it writes {"ok": n, "mismatch": n} to RESULT_FILE. It stops
by itself after 120 s.
"""
import json
import sys
import threading

import grpc
from google.protobuf import json_format

from grpc_harness import serve

sys.path.insert(0, sys.argv[1])
import every_kind_pb2 as pb  # noqa: E402

expected = json_format.ParseDict(json.load(open(sys.argv[2])), pb.Everything())
result = {"ok": 0, "mismatch": 0}
lock = threading.Lock()


def check(request, context):
    same = request == expected
    with lock:
        result["ok" if same else "mismatch"] += 1
    if not same:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"got {request}")
    return pb.Inner(s="checked")


def main():
    def snapshot():
        with lock:
            return dict(result)
    serve("ringtest.Checker", {"Check": (check, pb.Everything, pb.Inner)}, sys.argv[3], snapshot)


if __name__ == "__main__":
    main()
