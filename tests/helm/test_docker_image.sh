#!/usr/bin/env bash
# test_docker_image.sh — the image, built for real and run the way the chart runs it.
#
# Builds the Dockerfile with a Docker engine, then starts config-server, customer-service
# and order-service from the image as the chart's securityContext does (uid 10001, read-only
# root filesystem with /tmp a tmpfs, every capability dropped, no-new-privileges) against
# the test stack's PostgreSQL and Kafka, on a database and topic of their own. The chart's
# `helm test` smoke flow (scripts/smoke.sh: customer → read model → order → update →
# delete) must pass against the containers, they must run as uid 10001, and `docker stop`
# (SIGTERM) must end each with status 0.
#
# Docker Hub is out of reach from this project's CI: when debian:12 cannot be pulled, both
# stages are based on a Debian 12 minbase root made with debootstrap from Debian's mirror
# (cached in .stack/docker-base) and imported as cqrs-local/debian:12.
# Starts dockerd when none answers, and stops it again. Skips (77) without root, without an
# engine or debootstrap (scripts/setup.sh --docker installs them), or when the engine cannot
# start on the machine. Env from ctest: CQ_PG_CONNINFO, CQ_KAFKA_BOOTSTRAP, CQ_BIN_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/.stack/docker-test
img=cqrs-ordering:ctest
tag=$$
db=docker_it_$tag
topic=docker-it-$tag
names=("cq-it-config-$tag" "cq-it-customer-$tag" "cq-it-order-$tag")
off=${CQ_TEST_PORT_OFFSET:-0}
ports=($((27888 + off)) $((27184 + off)) $((27181 + off)))
mkdir -p "$work"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
psql_() { psql -X -q -v ON_ERROR_STOP=1 "${CQ_PG_CONNINFO:?}" "$@"; }

cleanup() {
  for n in "${names[@]}"; do docker rm -f "$n" >/dev/null 2>&1 || true; done
  psql_ -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  for t in "$topic" "$topic.DLQ"; do
    "${CQ_BIN_DIR:-}/os_produce" --bootstrap "${CQ_KAFKA_BOOTSTRAP:?}" --topic "$t" --delete >/dev/null 2>&1 || true
  done
  docker_release
}

[ "$(id -u)" = 0 ] || skip "needs root (to run dockerd)"
# docker_ensure / docker_base / docker_release: the engine and the Debian base, shared with
# the test cluster's images (scripts/k8s/images.sh).
# shellcheck source=../../scripts/k8s/images.sh
. "$root/scripts/k8s/images.sh"
trap cleanup EXIT
docker_ensure >"$work/engine.txt" || skip "$(tail -n 1 "$work/engine.txt")"
if ! docker_base >"$work/base.txt"; then
  grep -q 'no debootstrap' "$work/base.txt" && skip "$(tail -n 1 "$work/base.txt")"
  cat "$work/base.txt"; fail "no Debian 12 base image"
fi
cat "$work/engine.txt" "$work/base.txt"
build_args=(--build-arg DEBIAN_IMAGE="$IMAGES_BASE" --build-arg RUNTIME_IMAGE="$IMAGES_BASE")

t0=$(date +%s)
DOCKER_BUILDKIT=0 docker build "${build_args[@]}" -t "$img" "$root" >"$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log"; fail "docker build failed (log: $work/build.log)"; }
echo "image built in $(($(date +%s) - t0)) s: $(docker image inspect -f '{{.Size}}' "$img" | awk '{printf "%.0f MB", $1 / 1e6}')"

psql_ -c "CREATE DATABASE $db" >/dev/null
run=(docker run -d --network host --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges)
svc_env=(-e CONFIG_SERVER_URL="http://127.0.0.1:${ports[0]}" -e APP_PROFILES=test
  -e CONFIG_CACHE_FILE=/tmp/config-cache.json -e DATASOURCE_DBNAME="$db"
  -e CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME="$topic" -e ORDER_SERVICE_CUSTOMER_TOPIC_NAME="$topic"
  -e ORDER_SERVICE_DLQ_TOPIC_NAME="$topic.DLQ" -e KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID="$topic-group")
"${run[@]}" --name "${names[0]}" "$img" config-server --repo /etc/cqrs-ordering/config-repo \
  --port "${ports[0]}" >/dev/null
"${run[@]}" --name "${names[1]}" "${svc_env[@]}" -e SERVER_PORT="${ports[1]}" "$img" customer-service >/dev/null
"${run[@]}" --name "${names[2]}" "${svc_env[@]}" -e SERVER_PORT="${ports[2]}" "$img" order-service >/dev/null

for n in "${names[@]}"; do
  uid=$(docker exec "$n" id -u) || fail "$n is not running: $(docker logs --tail 5 "$n" 2>&1)"
  [ "$uid" = 10001 ] || fail "$n runs as uid $uid, not 10001"
done
CUSTOMER_URL="http://127.0.0.1:${ports[1]}" ORDER_URL="http://127.0.0.1:${ports[2]}" SMOKE_TIMEOUT=60 \
  sh "$root/scripts/smoke.sh" || {
  for n in "${names[@]}"; do echo "--- $n"; docker logs --tail 10 "$n" 2>&1; done
  fail "the smoke flow failed against the containers"
}
for n in "${names[@]}"; do
  docker stop -t 20 "$n" >/dev/null
  rc=$(docker inspect -f '{{.State.ExitCode}}' "$n")
  [ "$rc" = 0 ] || fail "$n exited $rc after SIGTERM"
done
echo "PASS: image built, the smoke flow passed against its containers (uid 10001, read-only root), all exited 0"
