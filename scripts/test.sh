#!/usr/bin/env bash
# test.sh — the one command that builds and tests everything (the README's test command;
# .ci/run calls exactly this).
#
# Installs what is missing (scripts/setup.sh), builds the sanitizer build (ASan + UBSan)
# in build-san/ with warnings as errors (and the programs once more in build-vg/ for the
# valgrind tests, and in build-rel/ as users build them — Release, -O3 — where the
# optimiser finds warnings the other builds do not), and runs every test with ctest: unit
# tests, then
# the integration and e2e tests against a real PostgreSQL 15 and Kafka 4.x broker (and the
# three programs) that ctest's fixtures start once on their own ports and stop at the end.
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit` or `-R config`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CQ_TEST_BUILD_DIR:-$root/build-san}

vgbuild=${CQ_VG_BUILD_DIR:-$root/build-vg}
relbuild=${CQ_REL_BUILD_DIR:-$root/build-rel}

"$root/scripts/setup.sh" --docker --k8s
# The tools some tests run, built from the registries and cached (a cold machine spends most
# of its set-up here: the downloads overlap the C builds below, so they run meanwhile, in the
# background, their output kept in .stack/tools.log and shown once the C builds are done).
mkdir -p "$root/.stack"
tools_log=$root/.stack/tools.log
(
    # The schema registry of it_schema_registry (scripts/registry.sh: Apicurio Registry from Maven
    # Central, cached; about 7.5 minutes cold, mostly downloads) and its Python client's venv (PyPI,
    # about a minute), beside the Go builds rather than after them.
    (
        "$root/scripts/registry.sh" build >/dev/null || echo "test.sh: the schema registry did not build: it_schema_registry will fail" >&2
        "$root/scripts/registry.sh" venv >/dev/null || echo "test.sh: the registry client venv failed: it_schema_registry will fail" >&2
    ) &
    registry_pid=$!
    # The test cluster's Kubernetes binaries (ctest k8s_helm): cached by scripts/k8s/build.sh,
    # about 10 minutes on 2 cores when cold.
    "$root/scripts/k8s/build.sh" >/dev/null || echo "test.sh: the k8s binaries did not build: k8s_helm will fail" >&2
    # The OpenTelemetry Collector of it_tracing (scripts/otelcol.sh, Go module proxy, cached): built
    # here, not inside the test, so that its build time does not count against the test's timeout.
    "$root/scripts/otelcol.sh" >/dev/null || echo "test.sh: the collector did not build: it_tracing will fail" >&2
    wait "$registry_pid" || true
    # The schemathesis venv of it_openapi (scripts/schemathesis.sh, PyPI, cached; about 30 s cold).
    "$root/scripts/schemathesis.sh" >/dev/null || echo "test.sh: no schemathesis venv: it_openapi will fail" >&2
) 2>"$tools_log" &
tools_pid=$!
tools_t0=$(date +%s)
trap 'kill "$tools_pid" 2>/dev/null || true' EXIT # a failed C build leaves no tool build behind
# The programs as scripts/up.sh builds them, warnings as errors.
cmake -S "$root" -B "$relbuild" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCQ_WERROR=ON >/dev/null
cmake --build "$relbuild" --target config-server customer-service order-service
# The programs once more without sanitizers, for the valgrind tests.
cmake -S "$root" -B "$vgbuild" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCQ_WERROR=ON >/dev/null
cmake --build "$vgbuild" --target config-server customer-service order-service
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCQ_WERROR=ON \
      -DCQ_VALGRIND_BIN_DIR="$vgbuild/bin" >/dev/null
cmake --build "$build"
wait "$tools_pid" || true
trap - EXIT
echo "test.sh: the test tools were ready $(( $(date +%s) - tools_t0 )) s after they started (their log follows)" >&2
cat "$tools_log" >&2
cd "$build"
exec ctest --output-on-failure -j2 "$@"
