#!/usr/bin/python3
"""A python3-grpcio client for api.performance.UserService/GetUser.

usage: grpc_client.py PORT STUBS_DIR USER_ID [METADATA=VALUE ...]
Prints one line: the status name, then the decoded user as JSON when OK.
STUBS_DIR holds user_service_pb2.py, made by `protoc --python_out`.
"""
import json
import sys

import grpc

sys.path.insert(0, sys.argv[2])
import user_service_pb2 as pb  # noqa: E402


def main():
    port, user_id = int(sys.argv[1]), int(sys.argv[3])
    metadata = [tuple(kv.split("=", 1)) for kv in sys.argv[4:]]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        get_user = channel.unary_unary(
            "/api.performance.UserService/GetUser",
            request_serializer=pb.GetUserRequest.SerializeToString,
            response_deserializer=pb.GetUserResponse.FromString,
        )
        try:
            resp = get_user(pb.GetUserRequest(user_id=user_id), metadata=metadata, timeout=10)
        except grpc.RpcError as e:
            print(e.code().name, e.details())
            return
        u = resp.user
        print("OK", json.dumps({"id": u.id, "name": u.name, "email": u.email, "age": u.age,
                                "created_at": u.created_at}))


if __name__ == "__main__":
    main()
