"""grpcio_client.py - Debian's python3-grpcio against mockarty-gen-server --type grpc (driven by
regress/e2e/grpc_mocks.test.mjs, which adds the mocks): the four call kinds, a rich error decoded
from grpc-status-details-bin with our google/rpc protos, and a deadline exceeded by a delayed
mock. Debian has no grpc_tools: message classes come from a descriptor set that protoc writes.
Usage: /usr/bin/python3 grpcio_client.py HOST:PORT FIXTURES_DIR PROTO_DIR; prints one JSON line.
"""
import json
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

addr, fixtures, proto_dir = sys.argv[1], sys.argv[2], sys.argv[3]
SVC = "/shop.v1.ShopService/"

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set.pb")
    subprocess.run(["protoc", "--include_imports", "--descriptor_set_out=" + out, "-I" + fixtures,
                    "-I" + proto_dir, "-I/usr/include", "shop/v1/shop.proto", "google/rpc/status.proto",
                    "google/rpc/error_details.proto"], check=True)
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())

pool = descriptor_pool.DescriptorPool()
for fd in fds.file:
    pool.Add(fd)


def cls(name):
    d = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(d)
    return message_factory.MessageFactory(pool).GetPrototype(d)


GetOrderRequest, Order = cls("shop.v1.GetOrderRequest"), cls("shop.v1.Order")
WatchOrdersRequest, Item = cls("shop.v1.WatchOrdersRequest"), cls("shop.v1.Item")
UploadSummary, ChatMessage = cls("shop.v1.UploadSummary"), cls("shop.v1.ChatMessage")
Status, BadRequest, ErrorInfo = cls("google.rpc.Status"), cls("google.rpc.BadRequest"), cls("google.rpc.ErrorInfo")

ser = lambda m: m.SerializeToString()  # noqa: E731
ch = grpc.insecure_channel(addr)
grpc.channel_ready_future(ch).result(timeout=10)
result = {}

get = ch.unary_unary(SVC + "GetOrder", request_serializer=ser, response_deserializer=Order.FromString)
result["unary"] = get(GetOrderRequest(id="o-42"), timeout=10).id

watch = ch.unary_stream(SVC + "WatchOrders", request_serializer=ser, response_deserializer=Order.FromString)
result["stream"] = [m.id for m in watch(WatchOrdersRequest(email="w@example.com"), timeout=10)]

upload = ch.stream_unary(SVC + "UploadItems", request_serializer=ser, response_deserializer=UploadSummary.FromString)
result["client_stream"] = upload(iter([Item(sku="A"), Item(sku="B")]), timeout=10).count

chat = ch.stream_stream(SVC + "Chat", request_serializer=ser, response_deserializer=ChatMessage.FromString)
result["bidi"] = [m.text for m in chat(iter([ChatMessage(text="hi"), ChatMessage(text="again")]), timeout=10)]

try:
    get(GetOrderRequest(id="missing"), timeout=10)
    result["error"] = None
except grpc.RpcError as e:
    err = {"code": e.code().name, "message": e.details()}
    for k, v in e.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = Status.FromString(v)
            for d in st.details:
                if d.type_url.endswith("google.rpc.BadRequest"):
                    err["bad_request_field"] = BadRequest.FromString(d.value).field_violations[0].field
                if d.type_url.endswith("google.rpc.ErrorInfo"):
                    err["error_info_reason"] = ErrorInfo.FromString(d.value).reason
    result["error"] = err

try:
    get(GetOrderRequest(id="slow"), timeout=0.4)
    result["deadline"] = "OK"
except grpc.RpcError as e:
    result["deadline"] = e.code().name

print(json.dumps(result))
