#!/usr/bin/python3
"""coordinator_grpcio.py - the real coordinator (admin node + PostgreSQL) against Debian's
python3-grpcio (gRPC C-core), the second, stricter peer: health, reflection, token scopes,
Sync snapshot + delta + heartbeat, Resolve, Report and revocation. Prints TAP.

Run through regress/e2e/coordinator_py.sh, which starts the stack and passes:
  COORD_ADDR (host:port), ADMIN_URL, MK_TOKEN (mk_ admin token), RESOLVER_TOKEN and
  RUNNER_TOKEN (mki_ mock_resolver / test_runner), DESC (the descriptor set).
Needs Debian's own interpreter (/usr/bin/python3), not a pyenv/venv one on PATH.
"""
import json
import os
import threading
import time
import urllib.request

import grpc
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grpc"))
import grpc_peer  # noqa: E402

ADDR = os.environ["COORD_ADDR"]
ADMIN = os.environ["ADMIN_URL"]
MK = os.environ["MK_TOKEN"]
RES = os.environ["RESOLVER_TOKEN"]
RUN = os.environ["RUNNER_TOKEN"]

M = grpc_peer.Messages(os.environ["DESC"])
msg = M.msg
C = "mockarty.coordinator.v1."
SyncRequest, SyncEvent = M.SyncRequest, M.SyncEvent
ResolveRequest, ResolveResponse = M.ResolveRequest, M.ResolveResponse
ReportBatch, ReportAck = M.ReportBatch, M.ReportAck
HCReq, HCResp = M.HCReq, M.HCResp
T = grpc_peer.Tap()
ok, check, meta = T.ok, T.check, grpc_peer.meta


def rest(method, path, body=None, token=MK):
    req = urllib.request.Request(ADMIN + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), json.loads(r.read() or b"null")


def channel():
    ch = grpc.insecure_channel(ADDR, options=[("grpc.use_local_subchannel_pool", 1)])
    grpc.channel_ready_future(ch).result(timeout=5)
    return ch


ch = channel()
resolve = ch.unary_unary("/" + C + "Coordinator/Resolve", request_serializer=ResolveRequest.SerializeToString,
                         response_deserializer=ResolveResponse.FromString)
report = ch.unary_unary("/" + C + "Coordinator/Report", request_serializer=ReportBatch.SerializeToString,
                        response_deserializer=ReportAck.FromString)
sync = ch.unary_stream("/" + C + "Coordinator/Sync", request_serializer=SyncRequest.SerializeToString,
                       response_deserializer=SyncEvent.FromString)
hcheck = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=HCReq.SerializeToString,
                        response_deserializer=HCResp.FromString)

print("TAP version 13", flush=True)


def t_health():
    return all(hcheck(HCReq(service=s), timeout=5).status == 1 for s in ("", C + "Coordinator"))


check("health Check: server and Coordinator SERVING", t_health)


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


rr = ResolveRequest(namespace="sandbox", method="GET", path="/py-pre")
check("no token -> UNAUTHENTICATED",
      lambda: code_of(lambda: resolve(rr, timeout=5)) == grpc.StatusCode.UNAUTHENTICATED)
check("bad mki_ token -> UNAUTHENTICATED",
      lambda: code_of(lambda: resolve(rr, metadata=meta("mki_000000000000_ab"), timeout=5))
      == grpc.StatusCode.UNAUTHENTICATED)
# an admin's API token is a coordinator credential (generated servers sync and resolve with one)
check("mk_ admin token -> admitted (Resolve answers)",
      lambda: resolve(rr, metadata=meta(MK), timeout=5).found)
check("malformed mk_ token -> UNAUTHENTICATED",
      lambda: code_of(lambda: resolve(rr, metadata=meta("mk_000000000000_ab"), timeout=5))
      == grpc.StatusCode.UNAUTHENTICATED)
check("test_runner token -> PERMISSION_DENIED (unary and stream)",
      lambda: code_of(lambda: resolve(rr, metadata=meta(RUN), timeout=5)) == grpc.StatusCode.PERMISSION_DENIED
      and code_of(lambda: list(sync(SyncRequest(resolver_name="py-runner"), metadata=meta(RUN), timeout=5)))
      == grpc.StatusCode.PERMISSION_DENIED)


def t_sync():
    call = sync(SyncRequest(resolver_name="py-resolver", namespace="sandbox", address="127.0.0.1:5799"),
                metadata=meta(RES), timeout=15)
    ids, snap_v, delta, hb = set(), None, None, None
    created = False
    for ev in call:
        kind = ev.WhichOneof("event")
        if kind == "snapshot":
            ids.update(m.id for m in ev.snapshot.mocks)
            snap_v = ev.snapshot.version
            if ev.snapshot.last_chunk and not created:
                created = True
                status, headers, _ = rest("POST", "/api/v1/mocks", {"id": "py-live", "http": {"route": "/py-live"},
                                                                  "response": {"statusCode": 200}})
                want = int(headers.get("X-Mockarty-Version", "0"))
        elif kind == "delta" and ev.delta.mock_id == "py-live":
            delta = ev.delta
        elif kind == "heartbeat" and delta is not None:
            hb = ev.heartbeat
        if delta is not None and hb is not None:
            call.cancel()
            break
    return ("py-pre" in ids and delta.version == snap_v + 1 == want and delta.op == 1
            and json.loads(delta.json)["http"]["route"] == "/py-live" and hb.head_version >= delta.version)


check("Sync: snapshot with existing mocks, a REST write arrives as the next delta, heartbeat at head", t_sync)


def t_resolve():
    r = resolve(rr, metadata=meta(RES), timeout=5)
    miss = resolve(ResolveRequest(namespace="sandbox", method="GET", path="/py-nothing"), metadata=meta(RES), timeout=5)
    return r.found and json.loads(r.response_json)["mockId"] == "py-pre" and not miss.found


check("Resolve: found through SQL, a miss is found = false", t_resolve)


def t_report():
    # A node's Report counts only for namespaces it holds an open Sync stream for (the
    # coordinator sent it those mocks), so report the way a resolver does: while syncing.
    call = sync(SyncRequest(resolver_name="py-resolver", namespace="sandbox", address="127.0.0.1:5799"),
                metadata=meta(RES), timeout=15)
    synced = threading.Event()

    def reader():
        try:
            for ev in call:
                if ev.WhichOneof("event") == "snapshot" and ev.snapshot.last_chunk:
                    synced.set()
        except grpc.RpcError:
            pass
    threading.Thread(target=reader, daemon=True).start()
    if not synced.wait(10):
        call.cancel()
        return False
    try:
        return report_while_synced()
    finally:
        call.cancel()


def report_while_synced():
    b = ReportBatch(resolver_name="py-resolver", applied_version=1)
    lg = b.logs.add()
    lg.mock_id, lg.req_json, lg.response_json, lg.called_at_ms = "py-pre", '{"py":true}', "{}", int(time.time() * 1000)
    u = b.undefined.add()
    u.namespace, u.method, u.path, u.count = "sandbox", "GET", "/py-miss", 2
    ack = report(b, metadata=meta(RES), timeout=5)
    _, _, logs = rest("GET", "/api/v1/mocks/py-pre/logs")
    return ack.accepted == 2 and '"py": true' in json.dumps(logs)


check("Report: accepted rows land in the mock's request log", t_report)


def t_reflection(version):
    pkg = "grpc.reflection.%s." % version
    Req, Resp = msg(pkg + "ServerReflectionRequest"), msg(pkg + "ServerReflectionResponse")
    call = ch.stream_stream("/%sServerReflection/ServerReflectionInfo" % pkg,
                            request_serializer=Req.SerializeToString, response_deserializer=Resp.FromString)
    out = list(call(iter([Req(list_services="")]), timeout=5))
    names = {s.name for s in out[0].list_services_response.service}
    return C + "Coordinator" in names and "grpc.health.v1.Health" in names


check("reflection v1 list_services", lambda: t_reflection("v1"))
check("reflection v1alpha list_services", lambda: t_reflection("v1alpha"))


def t_revoke():
    _, _, created = rest("POST", "/ui/api/integrations", {"name": "py-revoke", "type": "mock_resolver"})
    tok, iid = created["token"], created["integration"]["id"]
    ch2 = channel()
    s2 = ch2.unary_stream("/" + C + "Coordinator/Sync", request_serializer=SyncRequest.SerializeToString,
                          response_deserializer=SyncEvent.FromString)
    call = s2(SyncRequest(resolver_name="py-revoked"), metadata=meta(tok), timeout=15)
    result = {}

    def reader():
        try:
            for _ in call:
                result.setdefault("first", time.time())
        except grpc.RpcError as e:
            result["code"], result["at"] = e.code(), time.time()

    th = threading.Thread(target=reader)
    th.start()
    deadline = time.time() + 5
    while "first" not in result and time.time() < deadline:
        time.sleep(0.01)
    rest("PUT", "/ui/api/integrations/" + iid, {"enabled": False})
    t0 = time.time()
    th.join(5)
    again = code_of(lambda: list(s2(SyncRequest(resolver_name="py-revoked"), metadata=meta(tok), timeout=5)))
    ch2.close()
    return (result.get("code") == grpc.StatusCode.UNAUTHENTICATED and result["at"] - t0 <= 1.0
            and again == grpc.StatusCode.UNAUTHENTICATED)


check("disabling the token ends the stream within 1 s; reconnect refused", t_revoke)

print("1..%d" % T.n, flush=True)
raise SystemExit(1 if T.failed else 0)
