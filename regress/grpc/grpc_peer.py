"""grpc_peer.py - what both python3-grpcio suites share: coordinator message classes built
from the build's descriptor set (Debian has no grpc_tools, so no generated stubs), TAP
counters and the authorization metadata. Import after putting regress/grpc on sys.path.
"""
import grpc  # noqa: F401  (imported here so a missing python3-grpcio fails in one place)
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


class Messages:
    """Message classes of coordinator.proto and health.proto, from a descriptor set file."""

    def __init__(self, desc_path):
        self.pool = descriptor_pool.DescriptorPool()
        fds = descriptor_pb2.FileDescriptorSet()
        with open(desc_path, "rb") as f:
            fds.ParseFromString(f.read())
        for fd in fds.file:
            self.pool.Add(fd)
        c = "mockarty.coordinator.v1."
        self.SyncRequest, self.SyncEvent = self.msg(c + "SyncRequest"), self.msg(c + "SyncEvent")
        self.ResolveRequest, self.ResolveResponse = self.msg(c + "ResolveRequest"), self.msg(c + "ResolveResponse")
        self.ReportBatch, self.ReportAck = self.msg(c + "ReportBatch"), self.msg(c + "ReportAck")
        self.HCReq = self.msg("grpc.health.v1.HealthCheckRequest")
        self.HCResp = self.msg("grpc.health.v1.HealthCheckResponse")

    def msg(self, name):
        d = self.pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(self.pool).GetPrototype(d)


class Tap:
    """TAP lines; a check that raises counts as failed and the others go on."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name), flush=True)

    def check(self, name, fn):
        try:
            self.ok(bool(fn()), name)
        except Exception as e:
            self.ok(False, "%s (%s: %s)" % (name, type(e).__name__, e))


def meta(token):
    return (("authorization", "Bearer " + token),) if token else ()
