#!/usr/bin/python3
"""A python3-grpcio server for ringtest.Checker/Check (tests/proto/every_kind.proto).

usage: grpc_check_server.py STUBS_DIR EXPECTED_JSON RESULT_FILE
Every call's request is compared with EXPECTED_JSON parsed by protobuf's own JSON
mapping: OK when every field arrived with the value given, else INVALID_ARGUMENT with
the difference. On SIGTERM it writes {"ok": n, "mismatch": n} to RESULT_FILE. It stops
by itself after 120 s.
"""
import json
import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import json_format

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
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler("ringtest.Checker", {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=pb.Everything.FromString,
            response_serializer=pb.Inner.SerializeToString),
    })
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("port", port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait(120)
    server.stop(0)
    with lock:
        json.dump(result, open(sys.argv[3], "w"))


if __name__ == "__main__":
    main()
