#!/usr/bin/env bash
# up.sh — the one command that brings the whole system up and shows it working (the
# README's first command).
#
# Installs what is missing (scripts/setup.sh), builds the Release build in build/, starts
# PostgreSQL 15, Kafka 4.x, config-server, customer-service and order-service on their
# local ports (scripts/stack.sh up), then runs a short demonstration of the CQRS flow
# (scripts/demo.sh). The stack keeps running; stop it with `scripts/stack.sh down`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCQ_WERROR=OFF >/dev/null
cmake --build "$root/build"
"$root/scripts/stack.sh" up
"$root/scripts/stack.sh" status
"$root/scripts/demo.sh"
echo
echo "The stack is running. scripts/stack.sh status | logs | down"
