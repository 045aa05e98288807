#!/usr/bin/env bash
# images.sh — container images without Docker Hub: a Docker engine (started when none answers,
# stopped again by docker_release), a Debian 12 base (docker.io's debian:12, or a debootstrap
# minbase imported as cqrs-local/debian:12 when Docker Hub is out of reach), and the images of
# the test cluster, built locally and tagged exactly as the chart's values name them:
#
#   cqrs-ordering:0.1.0                     the project's Dockerfile
#   registry.k8s.io/pause:3.10              images/pause (a static C program)
#   registry.k8s.io/coredns/coredns:v1.14.3 images/coredns (scripts/k8s/build.sh's coredns)
#   docker.io/apache/kafka:4.1.1            images/kafka: stand-in from the Maven Central jars
#   docker.io/library/postgres:15-bookworm  images/postgres: stand-in from Debian's PostgreSQL 15
#   docker.io/curlimages/curl:8.11.1        images/curl: stand-in (sh + Debian's curl)
#
# Sourced (by tests/helm/test_docker_image.sh and scripts/k8s.sh) for docker_ensure,
# docker_release, docker_base and images_build; run as `images.sh build BIN_DIR` (BIN_DIR
# holding scripts/k8s/build.sh's coredns) it builds them all into the Docker engine
# (scripts/k8s.sh then imports them into the cluster's containerd). Work files in $CQ_IMAGES_WORK
# (default <repo>/.stack/images); the debootstrap root is cached in .stack/docker-base.
# CQ_APP_CONTEXT: the source tree the project's image is built from (default: this checkout).
images_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
images_work=${CQ_IMAGES_WORK:-$images_root/.stack/images}
images_dockerd_pid=
IMAGES_BASE=

KAFKA_IMAGE=docker.io/apache/kafka:4.1.1
POSTGRES_IMAGE=docker.io/library/postgres:15-bookworm
CURL_IMAGE=docker.io/curlimages/curl:8.11.1
PAUSE_IMAGE=registry.k8s.io/pause:3.10
COREDNS_IMAGE=registry.k8s.io/coredns/coredns:v1.14.3
APP_IMAGE=cqrs-ordering:0.1.0
IMAGES_ALL=("$PAUSE_IMAGE" "$COREDNS_IMAGE" "$KAFKA_IMAGE" "$POSTGRES_IMAGE" "$CURL_IMAGE" "$APP_IMAGE")

# docker_ensure: a Docker engine answers, or return 1 (with the reason printed).
docker_ensure() {
  command -v docker >/dev/null && command -v dockerd >/dev/null ||
    { echo "no Docker engine (scripts/setup.sh --docker)"; return 1; }
  docker info >/dev/null 2>&1 && return 0
  mkdir -p "$images_work"
  echo "starting dockerd (log: $images_work/dockerd.log)"
  dockerd --host unix:///var/run/docker.sock >"$images_work/dockerd.log" 2>&1 &
  images_dockerd_pid=$!
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && return 0; sleep 0.2; done
  tail -n 15 "$images_work/dockerd.log"
  echo "dockerd does not start on this machine"
  return 1
}

# docker_release: stop the dockerd that docker_ensure started (if it did).
docker_release() {
  [ -n "$images_dockerd_pid" ] || return 0
  kill "$images_dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$images_dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  images_dockerd_pid=
}

# docker_base: sets IMAGES_BASE to debian:12, or to cqrs-local/debian:12 made with debootstrap
# (cached) when Docker Hub cannot be reached. Returns 1 when neither works.
docker_base() {
  if docker image inspect debian:12 >/dev/null 2>&1 || timeout 60 docker pull -q debian:12 >/dev/null 2>&1; then
    IMAGES_BASE=debian:12; return 0
  fi
  IMAGES_BASE=cqrs-local/debian:12
  docker image inspect "$IMAGES_BASE" >/dev/null 2>&1 && return 0
  local base=$images_root/.stack/docker-base/bookworm
  if [ ! -x "$base/bin/sh" ]; then
    command -v debootstrap >/dev/null || { echo "no debian:12 image and no debootstrap (scripts/setup.sh --docker)"; return 1; }
    echo "debian:12 cannot be pulled: debootstrap --variant=minbase bookworm (once, cached)"
    rm -rf "$base"; mkdir -p "$images_work"
    debootstrap --variant=minbase bookworm "$base" http://deb.debian.org/debian >"$images_work/debootstrap.log" 2>&1 ||
      { tail -n 20 "$images_work/debootstrap.log"; echo "debootstrap failed"; return 1; }
    printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
      'deb http://deb.debian.org/debian bookworm-updates main' \
      'deb http://deb.debian.org/debian-security bookworm-security main' >"$base/etc/apt/sources.list"
  fi
  tar -C "$base" -c . | docker import - "$IMAGES_BASE" >/dev/null
}

# images_build_one TAG CONTEXT [docker build args...]
images_build_one() {
  local tag=$1 ctx=$2 t0; shift 2
  t0=$(date +%s)
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$IMAGES_BASE" "$@" -t "$tag" "$ctx" \
    >"$images_work/build-${tag//[\/:]/_}.log" 2>&1 ||
    { tail -n 30 "$images_work/build-${tag//[\/:]/_}.log"; echo "docker build of $tag failed"; return 1; }
  echo "  $tag built in $(($(date +%s) - t0)) s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

# images_build BIN_DIR: every image of IMAGES_ALL, built into the Docker engine (its layer
# cache makes a rebuild with unchanged inputs a matter of seconds).
images_build() {
  local bin=$1 here=$images_root/scripts/k8s/images ctx=$images_work/ctx
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$here"/pause "$here"/coredns "$here"/kafka "$here"/postgres "$here"/curl "$ctx"/
  cc -static -O2 -Wall -Wextra -Werror -o "$ctx/pause/pause" "$here/pause/pause.c" || return 1
  [ -x "$bin/coredns" ] || { echo "no $bin/coredns: run scripts/k8s/build.sh"; return 1; }
  cp "$bin/coredns" "$ctx/coredns/coredns"
  ls "$images_root"/.stack/kafka-libs/kafka_2.13-*.jar >/dev/null 2>&1 || { echo "no Kafka jars: run scripts/setup.sh"; return 1; }
  cp -r "$images_root/.stack/kafka-libs" "$ctx/kafka/libs"
  cp "$images_root/scripts/kafka/log4j2.properties" "$ctx/kafka/log4j2.properties"
  # fixed file times: the builder's cache then depends on the contents only
  touch -d @0 -- "$ctx"/*/* 2>/dev/null || true
  images_build_one "$PAUSE_IMAGE" "$ctx/pause" || return 1
  images_build_one "$COREDNS_IMAGE" "$ctx/coredns" || return 1
  images_build_one "$KAFKA_IMAGE" "$ctx/kafka" || return 1
  images_build_one "$POSTGRES_IMAGE" "$ctx/postgres" || return 1
  images_build_one "$CURL_IMAGE" "$ctx/curl" || return 1
  images_build_one "$APP_IMAGE" "${CQ_APP_CONTEXT:-$images_root}" --build-arg DEBIAN_IMAGE="$IMAGES_BASE" \
    --build-arg RUNTIME_IMAGE="$IMAGES_BASE" || return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    build)
      [ $# = 2 ] || { echo "usage: images.sh build BIN_DIR" >&2; exit 2; }
      mkdir -p "$images_work"
      trap docker_release EXIT
      docker_ensure || exit 1
      docker_base || exit 1
      echo "building the images on $IMAGES_BASE"
      images_build "$2"
      ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi
