#!/usr/bin/python3
"""test_grpc.py - the coordinator contract against Debian's python3-grpcio (gRPC C-core), a
stricter and chattier peer than grpc-js (te checks, BDP pings). No generated stubs: Debian has
no grpc_tools, so messages come from the build's descriptor set through descriptor_pool and the
calls are generic (channel.unary_unary('/pkg.Svc/M', ...)). Prints TAP.

Needs Debian's own interpreter (/usr/bin/python3), not a pyenv/venv one on PATH.

  GRPC_TEST_ADDR=127.0.0.1:<port> /usr/bin/python3 regress/grpc/test_grpc.py [descriptor-set]
"""
import os
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc_peer  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DESC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "daemons/grpc/build/gen/mockarty-grpc.desc")
ADDR = os.environ.get("GRPC_TEST_ADDR", "127.0.0.1:5773")

M = grpc_peer.Messages(DESC)
msg = M.msg
C = "mockarty.coordinator.v1."
SyncRequest, SyncEvent = M.SyncRequest, M.SyncEvent
ResolveRequest, ResolveResponse = M.ResolveRequest, M.ResolveResponse
ReportBatch, ReportAck = M.ReportBatch, M.ReportAck
HCReq, HCResp = M.HCReq, M.HCResp
T = grpc_peer.Tap()
ok, check, meta = T.ok, T.check, grpc_peer.meta


ch = grpc.insecure_channel(ADDR)
grpc.channel_ready_future(ch).result(timeout=5)


def unary(method, req_cls, resp_cls):
    return ch.unary_unary(method, request_serializer=req_cls.SerializeToString,
                          response_deserializer=resp_cls.FromString)


resolve = unary("/" + C + "Coordinator/Resolve", ResolveRequest, ResolveResponse)
report = unary("/" + C + "Coordinator/Report", ReportBatch, ReportAck)
sync = ch.unary_stream("/" + C + "Coordinator/Sync", request_serializer=SyncRequest.SerializeToString,
                       response_deserializer=SyncEvent.FromString)
hcheck = unary("/grpc.health.v1.Health/Check", HCReq, HCResp)
hwatch = ch.unary_stream("/grpc.health.v1.Health/Watch", request_serializer=HCReq.SerializeToString,
                         response_deserializer=HCResp.FromString)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


print("TAP version 13")


def t_resolve():
    r = resolve(ResolveRequest(namespace="sandbox", method="GET", path="/p", body=b"\x00\xff", seed=7),
                metadata=meta("mki_good"), timeout=5)
    return r.found and '"path":"/p"' in r.response_json and '"seed":"7"' in r.response_json


check("unary Resolve with a good token", t_resolve)
check("bad token -> UNAUTHENTICATED",
      lambda: code_of(lambda: resolve(ResolveRequest(), metadata=meta("mki_nope"), timeout=5))
      == grpc.StatusCode.UNAUTHENTICATED)
check("missing token -> UNAUTHENTICATED",
      lambda: code_of(lambda: resolve(ResolveRequest(), timeout=5)) == grpc.StatusCode.UNAUTHENTICATED)
check("readonly token -> PERMISSION_DENIED",
      lambda: code_of(lambda: resolve(ResolveRequest(), metadata=meta("mki_readonly"), timeout=5))
      == grpc.StatusCode.PERMISSION_DENIED)


def t_big_bad():
    big = ResolveRequest(body=b"x" * (5 << 20))
    return code_of(lambda: resolve(big, metadata=meta("mki_nope"), timeout=10)) == grpc.StatusCode.UNAUTHENTICATED


check("5 MiB body with a bad token -> UNAUTHENTICATED (body never read)", t_big_bad)


def t_big_good():
    big = ResolveRequest(body=b"x" * (5 << 20))
    return code_of(lambda: resolve(big, metadata=meta("mki_good"), timeout=10)) == grpc.StatusCode.RESOURCE_EXHAUSTED


check("5 MiB body with a good token -> RESOURCE_EXHAUSTED", t_big_good)


def t_sync():
    call = sync(SyncRequest(resolver_name="py-1", namespace="sandbox"), metadata=meta("mki_good"), timeout=10)
    snaps, deltas = [], []
    for ev in call:
        kind = ev.WhichOneof("event")
        if kind == "snapshot":
            snaps.append(ev.snapshot)
        elif kind == "delta":
            deltas.append(ev.delta)
            if len(deltas) == 6:
                call.cancel()
                break
    if len(snaps) != 2 or not snaps[1].last_chunk or snaps[0].last_chunk:
        return False
    v = snaps[1].version
    for d in deltas:
        if d.version != v + 1:
            return False
        v = d.version
    return [m.id for s in snaps for m in s.mocks] == ["seed1", "seed2"]


check("Sync: two snapshot chunks then consecutive deltas", t_sync)


def t_sync_deadline():
    call = sync(SyncRequest(resolver_name="py-2", namespace="sandbox"), metadata=meta("mki_good"), timeout=0.4)
    try:
        for _ in call:
            pass
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return False


check("Sync with a 400 ms deadline -> DEADLINE_EXCEEDED", t_sync_deadline)


def t_sync_resync():
    evs = list(sync(SyncRequest(resolver_name="py-3", have_version=1 << 40), metadata=meta("mki_good"), timeout=5))
    return len(evs) == 1 and evs[0].WhichOneof("event") == "resync"


check("Sync from an unknown future version -> one Resync, then OK", t_sync_resync)


def t_sync_denied():
    try:
        list(sync(SyncRequest(), metadata=meta("mki_readonly"), timeout=5))
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.PERMISSION_DENIED
    return False


check("Sync with a readonly token -> PERMISSION_DENIED", t_sync_denied)


def t_report():
    b = ReportBatch(dropped=1)
    b.logs.add(mock_id="m1", called_at_ms=1)
    b.undefined.add(path="/u", count=2)
    b.undefined.add(path="/v", count=1)
    return report(b, metadata=meta("mki_good"), timeout=5).accepted == 3


check("Report -> accepted 3", t_report)
check("unknown method -> UNIMPLEMENTED",
      lambda: code_of(lambda: ch.unary_unary("/" + C + "Coordinator/Nope")(b"", metadata=meta("mki_good"), timeout=5))
      == grpc.StatusCode.UNIMPLEMENTED)
check("health Check '' -> SERVING", lambda: hcheck(HCReq(service=""), timeout=5).status == 1)
check("health Check unknown -> NOT_FOUND",
      lambda: code_of(lambda: hcheck(HCReq(service="nope.Svc"), timeout=5)) == grpc.StatusCode.NOT_FOUND)


def t_watch():
    call = hwatch(HCReq(service="mockarty.coordinator.v1.Coordinator"), timeout=5)
    first = next(call)
    call.cancel()
    return first.status == 1


check("health Watch sends the current status at once", t_watch)


def t_reflection(version):
    pkg = "grpc.reflection.%s." % version
    Req, Resp = msg(pkg + "ServerReflectionRequest"), msg(pkg + "ServerReflectionResponse")
    call = ch.stream_stream("/%sServerReflection/ServerReflectionInfo" % pkg,
                            request_serializer=Req.SerializeToString, response_deserializer=Resp.FromString)
    reqs = [Req(list_services=""), Req(file_containing_symbol="mockarty.coordinator.v1.Coordinator.Sync"),
            Req(file_by_filename="nope.proto")]
    out = list(call(iter(reqs), timeout=5))
    names = {s.name for s in out[0].list_services_response.service}
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.ParseFromString(out[1].file_descriptor_response.file_descriptor_proto[0])
    return (len(out) == 3 and "mockarty.coordinator.v1.Coordinator" in names
            and "grpc.health.v1.Health" in names and fdp.name == "coordinator.proto"
            and fdp.package == "mockarty.coordinator.v1"
            and out[2].error_response.error_code == 5)


check("reflection v1: list_services, file_containing_symbol (method), unknown file -> 5",
      lambda: t_reflection("v1"))
check("reflection v1alpha: same", lambda: t_reflection("v1alpha"))


def t_revoke():
    ch2 = grpc.insecure_channel(ADDR, options=[("grpc.use_local_subchannel_pool", 1)])
    s2 = ch2.unary_stream("/" + C + "Coordinator/Sync", request_serializer=SyncRequest.SerializeToString,
                          response_deserializer=SyncEvent.FromString)
    call = s2(SyncRequest(resolver_name="py-rev"), metadata=meta("mki_good_py"), timeout=10)
    result = {}

    def reader():
        try:
            for _ in call:
                result["got"] = True
        except grpc.RpcError as e:
            result["code"], result["details"] = e.code(), e.details()

    th = threading.Thread(target=reader)
    th.start()
    t0 = time.time()
    while "got" not in result and time.time() - t0 < 5:
        time.sleep(0.01)
    r = resolve(ResolveRequest(namespace="__revoke__", path="good_py"), metadata=meta("mki_good"), timeout=5)
    th.join(5)
    ch2.close()
    return (r.response_json == '{"closed":1}' and result.get("code") == grpc.StatusCode.UNAUTHENTICATED
            and result.get("details") == "token revoked")


check("revoking a token ends its open stream UNAUTHENTICATED", t_revoke)

ch.close()
print("1..%d" % T.n)
sys.exit(1 if T.failed else 0)
