# Dockerfile — one image holding the three programs of cqrs-ordering (config-server,
# customer-service, order-service) and a copy of config-repo/. The Helm chart runs each
# program from it by name (/usr/local/bin/<program>).
#
#   docker build -t cqrs-ordering:0.1.0 .
#   docker run --rm cqrs-ordering:0.1.0 customer-service --help
#
# Stage 1 (build): Debian 12 with the -dev packages, CMake Release build of the three targets.
# Stage 2 (runtime): debian:12-slim with only the runtime libraries, a non-root user (10001).
# tests/helm/test_dockerfile_paths.sh checks that every path copied from the context exists;
# tests/helm/test_docker_image.sh builds the image and runs the smoke flow against it.

ARG DEBIAN_IMAGE=debian:12
ARG RUNTIME_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      librdkafka-dev libpq-dev libavro-dev libcurl4-openssl-dev libyaml-dev libgit2-dev \
      libh2o-evloop-dev libh2o-dev libssl-dev zlib1g-dev libuv1-dev libjansson-dev \
      libcmocka-dev uuid-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (the top-level CMakeLists.txt adds each of these directories).
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY common/ common/
COPY kafka-model/ kafka-model/
COPY config-server/ config-server/
COPY customer-service/ customer-service/
COPY order-service/ order-service/
COPY tests/ tests/
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --target config-server customer-service order-service \
 && strip build/bin/config-server build/bin/customer-service build/bin/order-service \
 && build/bin/config-server --version \
 && build/bin/customer-service --version \
 && build/bin/order-service --version

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libpq5 libavro23 libcurl4 libyaml-0-2 libh2o-evloop0.13 libjansson4 \
      libuuid1 libssl3 libgit2-1.5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 cqrs \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin cqrs
COPY --from=build /src/build/bin/config-server /src/build/bin/customer-service \
     /src/build/bin/order-service /usr/local/bin/
# The image's own copy of the config repo (Helm mounts the chart's ConfigMap instead).
COPY config-repo/ /etc/cqrs-ordering/config-repo/
LABEL org.opencontainers.image.title="cqrs-ordering" \
      org.opencontainers.image.description="CQRS ordering system: config-server, customer-service, order-service"
USER 10001:10001
EXPOSE 8888 8184 8181
CMD ["config-server", "--repo", "/etc/cqrs-ordering/config-repo", "--port", "8888"]
