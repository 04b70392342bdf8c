"""What the test gRPC servers share: a python3-grpcio server on 127.0.0.1 with an
ephemeral port (printed as "port N"; TLS when RL_GRPC_TLS_CERT and RL_GRPC_TLS_KEY name a
PEM certificate and key), unary handlers for one service, and on SIGTERM
(or after 120 s) a JSON results file. Imported by grpc_server.py and
grpc_check_server.py."""
import json
import os
import signal
import threading
from concurrent import futures

import grpc

LIFETIME_S = 120


def serve(service, methods, results_file, results):
    """methods: {name: (handler, request_type, response_type)}; results(): a dict."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            fn, request_deserializer=req.FromString, response_serializer=resp.SerializeToString)
        for name, (fn, req, resp) in methods.items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    cert, key = os.environ.get("RL_GRPC_TLS_CERT"), os.environ.get("RL_GRPC_TLS_KEY")
    if cert and key:  # TLS credentials, for the HTTPS tests
        creds = grpc.ssl_server_credentials([(open(key, "rb").read(), open(cert, "rb").read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("port", port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait(LIFETIME_S)
    server.stop(0)
    json.dump(results(), open(results_file, "w"))
