#!/usr/bin/env bash
# test_vg_config_server_git.sh — config-server's git backend under valgrind: a bare remote
# seeded from config-repo/ with a branch and a tag, every label form, pushes brought in by
# POST /monitor and by the periodic fetch, an unknown label, the remote gone (failed
# fetches and backoff) and back, a watch request woken by a push, some held at SIGTERM,
# then SIGTERM; no memory errors, no definitely-lost leaks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
g() { git -c user.name=vg -c user.email=vg@example.org -c init.defaultBranch=main "$@"; }
g init -q --bare "$dir/remote.git"
g init -q "$dir/work"
cp -r "$CQ_SOURCE_DIR/config-repo/." "$dir/work/"
(cd "$dir/work" && g add -A && g commit -qm seed && g remote add origin "$dir/remote.git" &&
 g push -q origin main && g checkout -qb release/1.0 && echo "rel: 1" >> customer-service.yml &&
 g commit -qam rel && g tag -a v1 -m v1 && g push -q origin release/1.0 v1 && g checkout -q main) 2>/dev/null
port=$((27891 + ${CQ_TEST_PORT_OFFSET:-0}))
export WORK=$dir/work REMOTE=$dir/remote.git
"$here/vg_check.sh" config-server-git $port /actuator/health '
  set -e
  short=$(git -C "$REMOTE" rev-parse --short v1^{commit})
  for u in /customer-service/local /order-service/test,k8s /customer-service/local/main \
           "/customer-service/local/release(_)1.0" /customer-service/local/v1 /customer-service/local/$short \
           /customer-service/default/HEAD /v1/customer-service-local.yml /customer-service-local.properties \
           /actuator/health; do
    curl -fsS -o /dev/null "$BASE$u"
  done
  for u in /customer-service/local/nolabel "/customer-service/local/HEAD@%7B1%7D" /customer-service/local/-x; do
    code=$(curl -s -o /dev/null -w "%{http_code}" "$BASE$u"); case $code in 4??) ;; *) echo "bad $u: $code"; exit 1;; esac
  done
  c() { git -c user.name=vg -c user.email=vg@example.org "$@"; }
  (cd "$WORK" && echo "extra: {pushed: 1}" >> customer-service.yml && c commit -qam p1 && c push -q origin main) 2>/dev/null
  curl -fsS -o /dev/null -X POST -H "X-GitHub-Event: push" -H "Content-Type: application/json" \
       -d "{\"commits\":[{\"modified\":[\"customer-service.yml\"]}]}" "$BASE/monitor"
  for i in $(seq 1 100); do curl -fsS "$BASE/customer-service-local.yml" | grep -q pushed && break; sleep 0.1; done
  curl -fsS "$BASE/customer-service-local.yml" | grep -q pushed
  mv "$REMOTE" "$REMOTE.away"
  curl -fsS -o /dev/null -X POST -d "path=customer-service.yml" "$BASE/monitor"
  for i in $(seq 1 100); do curl -fsS "$BASE/actuator/health" | grep -q "\"lastError\":{" && break; sleep 0.1; done
  curl -fsS "$BASE/actuator/health" | grep -q "\"lastError\":{"
  mv "$REMOTE.away" "$REMOTE"
  (cd "$WORK" && echo "extra2: {pushed: 2}" >> customer-service.yml && c commit -qam p2 && c push -q origin main) 2>/dev/null
  for i in $(seq 1 300); do curl -fsS "$BASE/customer-service-local.yml" | grep -q extra2 && break; sleep 0.1; done
  curl -fsS "$BASE/customer-service-local.yml" | grep -q extra2
  # a watch request answered by a push brought in by POST /monitor, and some held at SIGTERM
  u="$BASE/customer-service/local"
  e=$(curl -fsS -D - -o /dev/null "$u" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
  curl -s -o /dev/null -w "%{http_code}" -H "If-None-Match: $e" "$u?wait=30" > "$WORK/.w1" & w1=$!
  sleep 0.5
  (cd "$WORK" && echo "extra3: {pushed: 3}" >> customer-service.yml && c commit -qam p3 && c push -q origin main) 2>/dev/null
  curl -fsS -o /dev/null -X POST -d "path=customer-service.yml" "$BASE/monitor"
  wait $w1; [ "$(cat "$WORK/.w1")" = 200 ]
  e=$(curl -fsS -D - -o /dev/null "$u" | tr -d "\r" | sed -n "s/^[Ee][Tt][Aa][Gg]: //p")
  for i in 1 2 3; do curl -s -o /dev/null -H "If-None-Match: $e" "$u?wait=60" & done
  sleep 1
' -- "$CQ_VG_BIN_DIR/config-server" --repo-uri "file://$dir/remote.git" --port $port --threads 2 --git-refresh-s 1
