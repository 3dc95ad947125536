#!/usr/bin/python3
"""gen_compare.py - the codec round trip against the reference implementation.

Generates COUNT random messages of rt.Root (seeded, bounded depth and sizes) with
Debian's python3-protobuf, feeds "<binary>\t<json_format JSON>" lines to our C
driver (core/build/pb_roundtrip) and checks, for every message:
  1. our binary -> JSON equals json_format.MessageToJson's JSON (semantically),
  2. our JSON re-encoded by us parses (in Python) to the original message,
  3. json_format's JSON encoded by us parses to the original message.
Prints TAP and the figures. Usage: gen_compare.py SET.pb DRIVER COUNT SEED [SEEDS_DIR]
With SEEDS_DIR, only writes COUNT messages there as fuzz seeds for core/fuzz/fuzz_pb.c
(a 0x01 byte, then the binary rt.Root) and exits.
"""
import base64, json, math, random, struct, subprocess, sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor as FD

set_path, driver, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fds = descriptor_pb2.FileDescriptorSet()
fds.ParseFromString(open(set_path, "rb").read())
pool = descriptor_pool.DescriptorPool()
for fp in fds.file:
    pool.Add(fp)
factory = message_factory.MessageFactory(pool)


def cls(name):
    return factory.GetPrototype(pool.FindMessageTypeByName(name))


Root = cls("rt.Root")
rng = random.Random(seed)
MAX_DEPTH = 4


def rstr():
    n = rng.choice([0, 1, 3, 8, 20])
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            out.append(chr(rng.randint(0x20, 0x7E)))
        elif r < 0.75:
            out.append(rng.choice(['"', "\\", "\n", "\t", "\x01", "/"]))
        elif r < 0.9:
            out.append(chr(rng.randint(0xA0, 0xD7FF)))
        else:
            out.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(out)


def rfloat32():
    r = rng.random()
    if r < 0.05:
        return rng.choice([float("nan"), float("inf"), float("-inf")])
    if r < 0.3:
        return float(rng.randint(-1000, 1000))
    while True:
        v = struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]
        if not math.isnan(v) and not math.isinf(v) and v != 0.0:
            return v


def rdouble():
    r = rng.random()
    if r < 0.05:
        return rng.choice([float("nan"), float("inf"), float("-inf")])
    if r < 0.3:
        return rng.uniform(-1e6, 1e6)
    while True:
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not math.isnan(v) and not math.isinf(v) and v != 0.0:
            return v


def rint(bits, signed):
    r = rng.random()
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    if r < 0.2:
        return rng.choice([lo, hi, 0, 1, -1 if signed else 2])
    if r < 0.6:
        return max(lo, min(hi, rng.randint(-300, 300)))
    return rng.randint(lo, hi)


def scalar(fd):
    t = fd.type
    if t == FD.TYPE_DOUBLE:
        return rdouble()
    if t == FD.TYPE_FLOAT:
        return rfloat32()
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return rint(32, True)
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return rint(64, True)
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return rint(32, False)
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return rint(64, False)
    if t == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if t == FD.TYPE_STRING:
        return rstr()
    if t == FD.TYPE_BYTES:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 2, 3, 5, 17])))
    if t == FD.TYPE_ENUM:
        vals = [v.number for v in fd.enum_type.values]
        if fd.enum_type.full_name == "google.protobuf.NullValue":  # JSON null: no room for others
            return 0
        return rng.choice(vals + [99] if rng.random() < 0.1 else vals)
    raise ValueError(t)


def json_value(depth):
    r = rng.random()
    if depth >= 3 or r < 0.6:
        return rng.choice([None, True, False, rstr(), float(rng.randint(-99, 99)), rng.uniform(-1e9, 1e9)])
    if r < 0.8:
        return {rstr(): json_value(depth + 1) for _ in range(rng.randint(0, 3))}
    return [json_value(depth + 1) for _ in range(rng.randint(0, 3))]


def set_value(msg, depth):
    """Fills a google.protobuf.Value."""
    v = json_value(depth)
    msg.CopyFrom(json_format.ParseDict(v, cls("google.protobuf.Value")()))


SNAKE = ["a", "b_c", "foo_bar.baz", "x.y_z", "items", "price_total"]

USER_ANY = ["rt.common.Money", "rt.common.Tag", "rt.Scalars"]
WKT_ANY = ["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Struct",
           "google.protobuf.Int64Value", "google.protobuf.StringValue", "google.protobuf.Empty",
           "google.protobuf.FieldMask", "google.protobuf.Value", "google.protobuf.Any"]


def fill_wkt(msg, depth):
    name = msg.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        msg.seconds = rng.randint(-62135596800, 253402300799)
        msg.nanos = rng.choice([0, 0, 1000000 * rng.randint(0, 999), 1000 * rng.randint(0, 999999),
                                rng.randint(0, 999999999)])
    elif name == "google.protobuf.Duration":
        s = rng.choice([0, rng.randint(0, 100), rng.randint(0, 315576000000)])
        n = rng.choice([0, 1000000 * rng.randint(0, 999), rng.randint(0, 999999999)])
        if rng.random() < 0.4:
            s, n = -s, -n
        msg.seconds, msg.nanos = s, n
    elif name == "google.protobuf.Struct":
        msg.CopyFrom(json_format.ParseDict({rstr(): json_value(depth) for _ in range(rng.randint(0, 4))},
                                           cls("google.protobuf.Struct")()))
    elif name == "google.protobuf.Value":
        set_value(msg, depth)
    elif name == "google.protobuf.ListValue":
        msg.CopyFrom(json_format.ParseDict([json_value(depth) for _ in range(rng.randint(0, 4))],
                                           cls("google.protobuf.ListValue")()))
    elif name == "google.protobuf.FieldMask":
        msg.paths.extend(rng.sample(SNAKE, rng.randint(0, 3)))
    elif name == "google.protobuf.Any":
        if depth >= MAX_DEPTH or rng.random() < 0.1:
            return
        tn = rng.choice(USER_ANY if rng.random() < 0.5 else WKT_ANY)
        inner = cls(tn)()
        fill(inner, depth + 1)
        msg.type_url = "type.googleapis.com/" + tn
        msg.value = inner.SerializeToString()
    elif name == "google.protobuf.Empty":
        pass
    else:  # wrappers
        fd = msg.DESCRIPTOR.fields_by_name["value"]
        if rng.random() < 0.8:
            msg.value = scalar(fd)
    return


def fill(msg, depth):
    d = msg.DESCRIPTOR
    if d.full_name.startswith("google.protobuf."):
        fill_wkt(msg, depth)
        return
    oneof_done = set()
    for fd in d.fields:
        if rng.random() < 0.45:
            continue
        if fd.containing_oneof is not None and fd.containing_oneof.name != "_" + fd.name:
            if fd.containing_oneof.name in oneof_done:
                continue
            oneof_done.add(fd.containing_oneof.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            kf, vf = fd.message_type.fields_by_name["key"], fd.message_type.fields_by_name["value"]
            m = getattr(msg, fd.name)
            for _ in range(rng.randint(0, 4)):
                k = scalar(kf)
                if vf.message_type is not None:
                    if depth >= MAX_DEPTH:
                        continue
                    fill(m[k], depth + 1)
                else:
                    m[k] = scalar(vf)
            continue
        if fd.label == FD.LABEL_REPEATED:
            lst = getattr(msg, fd.name)
            for _ in range(rng.randint(0, 4)):
                if fd.message_type is not None:
                    if depth >= MAX_DEPTH:
                        break
                    fill(lst.add(), depth + 1)
                else:
                    lst.append(scalar(fd))
            continue
        if fd.message_type is not None:
            if depth >= MAX_DEPTH:
                continue
            sub = getattr(msg, fd.name)
            sub.SetInParent()
            fill(sub, depth + 1)
        else:
            setattr(msg, fd.name, scalar(fd))


def canon_msg(m):
    """Re-serializes the payload of every Any deterministically (map order inside Any bytes)."""
    if m.DESCRIPTOR.full_name == "google.protobuf.Any":
        if m.type_url:
            inner = cls(m.type_url.split("/")[-1])()
            inner.ParseFromString(m.value)
            canon_msg(inner)
            m.value = inner.SerializeToString(deterministic=True)
        return
    for fd, val in m.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].message_type is not None:
                for k in val:
                    canon_msg(val[k])
        elif fd.label == FD.LABEL_REPEATED:
            for x in val:
                canon_msg(x)
        else:
            canon_msg(val)


def canon(b):
    m = Root()
    m.ParseFromString(b)
    canon_msg(m)
    return m.SerializeToString(deterministic=True)


msgs, lines = [], []
for i in range(count):
    m = Root()
    fill(m, 0)
    try:
        js = json_format.MessageToJson(m, descriptor_pool=pool, indent=None)
    except Exception as e:  # the reference refuses (e.g. NaN inside a Struct): regenerate
        m = Root()
        fill(m, 3)
        js = json_format.MessageToJson(m, descriptor_pool=pool, indent=None)
    b = m.SerializeToString()
    msgs.append((b, js))
    lines.append(b.hex() + "\t" + js.replace("\n", " ") + "\n")

if len(sys.argv) > 5:
    for i, (b, js) in enumerate(msgs):
        with open("%s/msg%03d" % (sys.argv[5], i), "wb") as f:
            f.write(b"\x01" + b)
    sys.exit(0)

proc = subprocess.run([driver, set_path, "rt.Root"], input="".join(lines).encode(), capture_output=True)
if proc.returncode != 0:
    print("not ok 1 - driver failed: " + proc.stderr.decode())
    sys.exit(1)
out = proc.stdout.decode().split("\n")
diffs = 0
shown = 0
for i, (b, js) in enumerate(msgs):
    parts = out[i].split("\t") if i < len(out) else ["ERR", "missing output"]
    problem = None
    if parts[0] == "ERR":
        problem = "codec error: " + "\t".join(parts[1:])
    else:
        want = json.loads(js)
        got = json.loads(parts[0])
        if got != want:
            problem = "JSON differs:\n  ours: %s\n  json_format: %s" % (parts[0], js)
        else:
            orig = canon(b)
            if canon(bytes.fromhex(parts[1])) != orig:
                m2 = Root(); m2.ParseFromString(bytes.fromhex(parts[1]))
                problem = "our JSON re-encoded by us is not the original message\n%s\n---\n%s" % (Root.FromString(b), m2) if shown < 1 else "our JSON re-encoded differs"
            elif canon(bytes.fromhex(parts[2])) != orig:
                problem = "json_format's JSON encoded by us is not the original message"
    if problem:
        diffs += 1
        if shown < 5:
            shown += 1
            print("# message %d: %s\n#   binary %s" % (i, problem.replace("\n", "\n# "), b.hex()))
print("1..1")
print("%s 1 - codec round trip: %d messages compared with json_format, %d differences"
      % ("ok" if diffs == 0 and count > 0 else "not ok", count, diffs))
sys.exit(1 if diffs else 0)
