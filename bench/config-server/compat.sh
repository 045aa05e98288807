#!/usr/bin/env bash
# bench/config-server/compat.sh — wire compatibility check: serves the config-server test
# fixture repo with our config-server and with Spring Cloud Config Server 5.0.x (native
# backend, the peer built by peer.sh) and compares the answers URL by URL: JSON
# Environments must be equal except `version` (Spring native: null; ours: content hash),
# the flat forms byte-identical. Prints one line per URL and exits 1 on any difference.
#
# The fixture's legacy `spring.profiles` document is rewritten to
# `spring.config.activate.on-profile` first: Spring Boot 4 rejects the legacy key (500),
# ours accepts both.
# Env: BIN (our binary), OUR_PORT (23427), PEER_PORT (23428).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUR_PORT=${OUR_PORT:-23427}
PEER_PORT=${PEER_PORT:-23428}
BIN=${BIN:-$ROOT/build/bin/config-server}
[[ -x "$BIN" ]] || { echo "compat.sh: set BIN to the config-server binary" >&2; exit 2; }
. "$HERE/peer.sh"
peer_build peer >/dev/null
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
cp -r "$ROOT/config-server/tests/fixtures/repo" "$TMP/repo"
python3 - "$TMP/repo/billing-dev.yml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("spring:\n  profiles: dev\n", "spring:\n  config:\n    activate:\n      on-profile: dev\n")
open(p, "w").write(s)
PY
"$BIN" --repo "$TMP/repo" --port "$OUR_PORT" --host 127.0.0.1 --log-level warn &
PIDS+=($!)
# shellcheck disable=SC2046 # peer_native_args prints separate words
peer_start "$PEER_PORT" "$TMP/peer.log" $(peer_native_args "$TMP/repo") --logging.level.root=WARN
PIDS+=("$PEER_PID")
peer_wait "$OUR_PORT" "${PIDS[0]}" /billing/default
peer_wait "$PEER_PORT" "$PEER_PID" /billing/default
fail=0
for u in /billing/default /billing/dev /billing/dev,prod /billing/prod,dev /billing/dev,prod/v2 /billing/default/v2 \
         /billing/dev/master /application/dev /legacy/default; do
    ours=$(curl -s "http://127.0.0.1:$OUR_PORT$u")
    spring=$(curl -s "http://127.0.0.1:$PEER_PORT$u")
    if python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); a.pop("version",0); b.pop("version",0); sys.exit(a!=b)' "$ours" "$spring"; then
        echo "same  $u"
    else
        echo "DIFF  $u"; fail=1
    fi
done
for u in /billing-default.yml /billing-dev.yml /billing-dev,prod.yml /billing-dev.properties /billing-dev,prod.properties \
         /billing-dev.json /v2/billing-default.properties /v2/billing-dev.yml /master/billing-prod.yaml \
         "/billing-dev.properties?resolvePlaceholders=false" /legacy-default.properties; do
    if diff <(curl -s "http://127.0.0.1:$PEER_PORT$u") <(curl -s "http://127.0.0.1:$OUR_PORT$u") >"$TMP/diff"; then
        echo "same  $u"
    else
        echo "DIFF  $u"; sed 's/^/      /' "$TMP/diff" | head -20; fail=1
    fi
done
exit $fail
