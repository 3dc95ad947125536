#!/usr/bin/env bash
# roundtrip.sh - TAP: the core protobuf <-> JSON codec against the reference implementation.
# Compiles the test protos in regress/protobuf/proto (several files with imports, every field
# kind, every well-known type) with Debian's protoc into a FileDescriptorSet, then has Debian's
# python3-protobuf generate random messages and compare them with what core/build/pb_roundtrip
# (our codec) makes of them: JSON against json_format, binary round trips by re-parsing.
#   PB_COUNT (default 10000) messages, PB_SEED (default 1) seeds the generator.
# Needs protobuf-compiler, libprotobuf-dev (the WKT .proto files) and python3-protobuf
# (scripts/install-deps.sh); /usr/bin/python3 is used on purpose (Debian's, with google.protobuf).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
driver="$top/core/build/pb_roundtrip"
work=$(mktemp -d /tmp/pb-roundtrip.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$driver" ] || make -s -C "$top/core" build/pb_roundtrip
if [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
  echo "1..1"; echo "not ok 1 - /usr/include/google/protobuf/*.proto missing (install libprotobuf-dev)"; exit 1
fi
(cd "$here/proto" && protoc -I. -I/usr/include --include_imports --descriptor_set_out="$work/set.pb" rt/root.proto)
exec /usr/bin/python3 "$here/gen_compare.py" "$work/set.pb" "$driver" "${PB_COUNT:-10000}" "${PB_SEED:-1}"
