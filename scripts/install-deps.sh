#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages the platform builds, runs and tests
# with, only when missing. Used by `make run`, `make test`, `make bench` and the Dockerfile,
# so that what CI tests is what the image runs.
#   scripts/install-deps.sh            build + run + test packages
#   scripts/install-deps.sh runtime    what `make run` needs to run (daemons and a local cluster)
#   scripts/install-deps.sh node       only the daemons' shared libraries (docker/Dockerfile images)
#   scripts/install-deps.sh postgres   PostgreSQL and the extension's libraries (docker/postgres.Dockerfile)
#   scripts/install-deps.sh bench      adds wrk and nginx
#   scripts/install-deps.sh fuzz       adds clang and its sanitizer runtimes (make fuzz)
set -euo pipefail

# protobuf-compiler + libprotobuf-dev + unzip: the admin node compiles uploaded .proto files (and
# zips of them) into descriptor sets with protoc; libprotobuf-dev ships the well-known types' .proto
node=(libmicrohttpd12 libjansson4 libpq5 libpcre2-8-0 libyaml-0-2 libcurl4 libssl3 curl ca-certificates libnghttp2-14 libprotobuf-c1
      protobuf-compiler libprotobuf-dev unzip)
pg=(postgresql-15 libjansson4 libpcre2-8-0 libyaml-0-2)
runtime=(postgresql-15 libmicrohttpd12 libjansson4 libpq5 libpcre2-8-0 libyaml-0-2 libcurl4 libssl3 curl ca-certificates libnghttp2-14 libprotobuf-c1
         protobuf-compiler libprotobuf-dev unzip)
# zlib1g-dev: daemons/common/mkassets.c gzips the web console and dashboards into the binaries at build time
build=(build-essential pkg-config zlib1g-dev postgresql-server-dev-15 libmicrohttpd-dev libjansson-dev libpq-dev
       libpcre2-dev libyaml-dev libcurl4-openssl-dev libssl-dev libcmocka-dev libnghttp2-dev libprotobuf-c-dev
       protobuf-c-compiler protobuf-compiler libprotobuf-dev unzip)
# prometheus: for promtool only (regress/e2e/metrics.test.mjs checks every /metrics output with it);
# chromium + fonts-dejavu-core: the console's browser tests (regress/e2e/ui_*.test.mjs, playwright-core drives it)
test_pkgs=(nodejs python3-grpcio python3-protobuf prometheus chromium fonts-dejavu-core)
bench_pkgs=(wrk nginx-light)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${runtime[@]}")
case "${1:-all}" in
  runtime) ;;
  node) want=("${node[@]}") ;;
  postgres) want=("${pg[@]}") ;;
  bench) want+=("${build[@]}" "${bench_pkgs[@]}") ;;
  fuzz) want+=("${build[@]}" "${fuzz_pkgs[@]}") ;;
  *) want+=("${build[@]}" "${test_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  # nodejs may come from outside Debian (e.g. a preinstalled node); accept any node >= 18
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "[deps] installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Keep distro services (nginx on :80, the default PostgreSQL cluster) from starting during install.
pol=/usr/sbin/policy-rc.d made=0
if [ ! -e $pol ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee $pol >/dev/null; $SUDO chmod +x $pol; made=1; fi
trap '[ $made = 1 ] && $SUDO rm -f $pol' EXIT
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package ships a server too; policy-rc.d keeps it from starting, but where an init
# ignores that, stop the server the install started (it runs as the package's own user) - the
# tests need only promtool.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  for pid in $(pgrep -u prometheus -x prometheus 2>/dev/null || true); do $SUDO kill "$pid" || true; done
fi
