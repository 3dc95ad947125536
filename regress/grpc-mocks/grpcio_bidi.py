"""grpcio_bidi.py - Debian's python3-grpcio against a bidirectional mock with a scripted sequence
(driven by regress/e2e/grpc_bidi_script.test.mjs, which adds the mocks): sends the messages
given on the command line as ChatMessage texts, all at once, then half-closes, and prints one
JSON line {"messages": [[text, seq, ms since the first write], ...], "code": status name,
"initial_metadata": {...}, "trailing_metadata": {...}}.
Usage: /usr/bin/python3 grpcio_bidi.py HOST:PORT FIXTURES_DIR TEXT...
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

addr, fixtures, texts = sys.argv[1], sys.argv[2], sys.argv[3:]

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set.pb")
    subprocess.run(["protoc", "--include_imports", "--descriptor_set_out=" + out, "-I" + fixtures,
                    "-I/usr/include", "shop/v1/shop.proto"], check=True)
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())

pool = descriptor_pool.DescriptorPool()
for fd in fds.file:
    pool.Add(fd)
d = pool.FindMessageTypeByName("shop.v1.ChatMessage")
ChatMessage = (message_factory.GetMessageClass(d) if hasattr(message_factory, "GetMessageClass")
               else message_factory.MessageFactory(pool).GetPrototype(d))

ch = grpc.insecure_channel(addr)
grpc.channel_ready_future(ch).result(timeout=10)
chat = ch.stream_stream("/shop.v1.ShopService/Chat", request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=ChatMessage.FromString)
t0 = time.monotonic()
call = chat(iter([ChatMessage(text=t) for t in texts]), timeout=20)
got = []
code = "OK"
try:
    for m in call:
        got.append([m.text, m.seq, round((time.monotonic() - t0) * 1000)])
except grpc.RpcError as e:
    code = e.code().name
print(json.dumps({"messages": got, "code": code,
                  "initial_metadata": {k: v for k, v in (call.initial_metadata() or ())},
                  "trailing_metadata": {k: v for k, v in (call.trailing_metadata() or ()) if not k.endswith("-bin")}}))
