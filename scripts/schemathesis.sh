#!/usr/bin/env bash
# schemathesis.sh — make (or take from the cache) a Python virtual environment with schemathesis
# and the exact versions of its dependencies (scripts/schemathesis/requirements.txt, from PyPI),
# for the OpenAPI contract test (tests/integration/test_openapi.sh).
#
#   scripts/schemathesis.sh          prints the path of the venv's `schemathesis` program
#
# The venv is made with Debian's /usr/bin/python3 (package python3-venv, scripts/setup.sh) and
# cached in $CQ_SCHEMATHESIS_CACHE (default /var/cache/cqrs-ordering/schemathesis, or
# .stack/schemathesis when that cannot be written) under a key made of requirements.txt and the
# interpreter's version: a second run installs nothing. Cold it takes about 30 s (27 packages).
# Env: CQ_SCHEMATHESIS_CACHE, CQ_PYTHON (default /usr/bin/python3), CQ_SCHEMATHESIS_REBUILD=1.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")/schemathesis" && pwd)
root=$(cd "$here/../.." && pwd)
say() { printf 'schemathesis.sh: %s\n' "$*" >&2; }
py=${CQ_PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=$(command -v python3) || { say "error: no python3 (scripts/setup.sh installs it)"; exit 1; }
"$py" -c 'import venv, ensurepip' 2>/dev/null ||
  { say "error: $py has no venv/ensurepip (Debian: apt-get install python3-venv; scripts/setup.sh does)"; exit 1; }
cache=${CQ_SCHEMATHESIS_CACHE:-}
if [ -z "$cache" ]; then
  cache=/var/cache/cqrs-ordering/schemathesis
  { mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ]; } || cache=$root/.stack/schemathesis
fi
mkdir -p "$cache"
key=$( { "$py" -VV; cat "$here/requirements.txt"; } | sha256sum | cut -c1-16)
venv=$cache/venv-$key
# one maker at a time; a venv without its stamp is a half-made one (killed mid-install)
exec 9>"$cache/.lock"
flock 9
if [ "${CQ_SCHEMATHESIS_REBUILD:-0}" = 1 ] || [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  t0=$(date +%s)
  say "making $venv with $("$py" -V 2>&1) (pip, $(grep -c . "$here/requirements.txt") pinned packages)"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$here/requirements.txt" >&2
  "$venv/bin/schemathesis" --version >/dev/null
  touch "$venv/.complete"
  say "made in $(( $(date +%s) - t0 )) s"
fi
echo "$venv/bin/schemathesis"
