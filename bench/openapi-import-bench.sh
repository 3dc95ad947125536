#!/usr/bin/env bash
# openapi-import-bench.sh - the GitHub REST description through mockarty-import (issue 11: "the
# GitHub REST description (about 10 MB of YAML) imports in under 10 s with bounded memory").
# The document comes from the npm package @octokit/openapi (api.github.com.json, ~13 MB), fetched
# with `npm pack` into a temporary directory at run time (never committed). The package ships JSON
# only, so the YAML form (~10 MB) is written from it with python3-yaml's C dumper when present.
# Each input is imported once under /usr/bin/time -v; the figures are wall time and max RSS.
# Targets: < MAX_SECONDS (10) and < MAX_RSS_KB (1 GiB) for every input, 0 import errors.
# Knobs: OCTOKIT_VERSION (23.0.2), MAX_SECONDS, MAX_RSS_KB, DEREF=1 also imports the
# dereferenced 73 MB JSON (over the same bounds), KEEP=1 keeps the temp dir, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
OCTOKIT_VERSION=${OCTOKIT_VERSION:-23.0.2}
MAX_SECONDS=${MAX_SECONDS:-10}
MAX_RSS_KB=${MAX_RSS_KB:-1048576}
CLI=$PWD/daemons/tools/build/mockarty-import
[ "${SKIP_BUILD:-0}" = 1 ] || make -s -C daemons/tools
tmp=$(mktemp -d /tmp/openapi-bench.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "@octokit/openapi@$OCTOKIT_VERSION" >/dev/null )
members=(package/generated/api.github.com.json)
[ "${DEREF:-0}" = 1 ] && members+=(package/generated/api.github.com.deref.json)
tar -xzf "$tmp"/octokit-openapi-*.tgz -C "$tmp" "${members[@]}"
inputs=("$tmp/package/generated/api.github.com.json")
if python3 -c 'import yaml; yaml.CSafeDumper' 2>/dev/null; then
  python3 - "$tmp/package/generated/api.github.com.json" "$tmp/api.github.com.yaml" <<'PY'
import json, sys, yaml
with open(sys.argv[1]) as f:
    doc = json.load(f)
with open(sys.argv[2], 'w') as f:
    yaml.dump(doc, f, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=200)
PY
  inputs=("$tmp/api.github.com.yaml" "${inputs[@]}")
else
  echo "python3-yaml not installed: the YAML form is skipped" >&2
fi
[ "${DEREF:-0}" = 1 ] && inputs+=("$tmp/package/generated/api.github.com.deref.json")

rc=0
printf '%-32s %10s %9s %12s %6s %7s %s\n' input bytes seconds max_rss_kb ops mocks verdict
for f in "${inputs[@]}"; do
  /usr/bin/time -v "$CLI" openapi "$f" --namespace bench >"$tmp/out.json" 2>"$tmp/time.txt" || { cat "$tmp/time.txt" >&2; rc=1; continue; }
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tmp/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")
  read -r ops mocks errs < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["info"]["operations"], len(d["mocks"]), len(d["errors"]))' "$tmp/out.json")
  verdict=PASS
  if awk -v s="$secs" -v m="$MAX_SECONDS" 'BEGIN{exit !(s>=m)}' || [ "$rss" -ge "$MAX_RSS_KB" ] || [ "$errs" -ne 0 ]; then
    verdict=FAIL; rc=1
  fi
  printf '%-32s %10s %9s %12s %6s %7s %s\n' "$(basename "$f")" "$(stat -c %s "$f")" "$secs" "$rss" "$ops" "$mocks" "$verdict (errors $errs)"
done
echo "targets: < ${MAX_SECONDS} s and < ${MAX_RSS_KB} kB max RSS per input"
exit $rc
