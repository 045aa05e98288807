# bench/cqrs-lag/peer/writepath.sh — the write path against PostgreSQL's own limit, for
# peer/run.sh (sourced; uses pipes.sh, cpu.sh):
#   write_path → customer-service alone (its relay held off, no order-service: only the write
#                path runs) in a database of its own; then, for WRITE_SECONDS each:
#                1. customer-service: wrk, WRITE_CLIENTS connections, closed loop, POST
#                   /customers (bench/customer-service/create.lua: unique usernames);
#                2. pgbench (-M prepared) running customer-service's own create statement
#                   (customer/dataaccess/customer_pgrepo.c's SQL_INSERT: the customer row and
#                   the outbox row in one statement, the outbox's NOTIFY trigger firing) with an
#                   outbox payload of a create's size, WRITE_CLIENTS clients, same PostgreSQL,
#                   same database;
#                3. the same pgbench at the service's pool size (datasource.pool-size: the most
#                   statements customer-service has in flight).
#                Creates/s of each, CPU-s per 10k creates of customer-service and of all of
#                PostgreSQL (exited backends included: pgbench's end with it), and
#                customer-service's share of pgbench's rate (goal >= 70 %).
# wrk and pgbench run on the same cores as what they measure (2 threads each).

write_path() {
  local secs=${WRITE_SECONDS:-30} c=${WRITE_CLIENTS:-16} pool cs a0 a1 c0 c1 n out rate sql
  command -v wrk >/dev/null || { say "write: 'wrk' is required"; return 1; }
  ours_up write norelay
  cs=$(cat "$TRIO_DIR/customer-service.pid")
  pool=$(curl -fsS "http://127.0.0.1:$CONFIG_PORT/customer-service/${TRIO_PROFILES:-local}" |
    grep -o '"datasource.pool-size":[0-9]*' | head -1 | cut -d: -f2)
  pool=${pool:-4}
  wrk -t1 -c4 -d3s -s "$ROOT/bench/customer-service/create.lua" "$CUSTOMER_URL" -- "w$$" >/dev/null 2>&1 || true
  c0=$(ticks "$cs") a0=$(pg_all_ticks_x)
  out=$(wrk -t2 -c"$c" -d"${secs}s" -s "$ROOT/bench/customer-service/create.lua" "$CUSTOMER_URL" -- "r$$")
  c1=$(ticks "$cs") a1=$(pg_all_ticks_x)
  n=$(sed -n 's/^BENCH requests=\([0-9]*\) duration_us=\([0-9]*\) non2xx=\([0-9]*\).*/\1 \2 \3/p' <<<"$out")
  read -r n dur bad <<<"$n"
  rate=$(awk -v n="$n" -v d="$dur" 'BEGIN { printf "%.0f", (d > 0 ? n / (d / 1e6) : 0) }')
  echo "ours write http $c $rate $(per10k $((c1 - c0)) "$n") $(per10k $((a1 - a0)) "$n") $bad" >>"$RES"
  say "write path: customer-service $rate creates/s ($c connections, $n requests, non-2xx $bad); CPU s/10k:" \
    "customer-service $(per10k $((c1 - c0)) "$n"), all PG $(per10k $((a1 - a0)) "$n")"
  # the service's statement with parameters of a create's size (create.lua's create: ~100 bytes of Avro)
  sql=$RUN_DIR/write-path.sql
  cat >"$sql" <<'EOF'
\set n random(1, 2000000000)
WITH c AS (INSERT INTO customer.customers (id, username, first_name, last_name, version, created_at, updated_at)
  VALUES (gen_random_uuid(), 'pgb-' || :client_id || '-' || :n || '-' || txid_current(), 'Bench', 'Mark O''Neil', 1::bigint,
          to_timestamp(1765000000000::float8 / 1000), to_timestamp(1765000000000::float8 / 1000))
  RETURNING id)
INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at, traceparent)
SELECT id, 1::bigint, 'CREATED', decode(repeat('ab', 100), 'hex'), to_timestamp(1765000000000::float8 / 1000), NULL::text FROM c;
EOF
  local k
  for k in "$c" "$pool"; do
    a0=$(pg_all_ticks_x)
    out=$(pgbench -n -M prepared -c "$k" -j 2 -T "$secs" -f "$sql" "$PG" 2>&1) || { say "pgbench failed: $(tail -3 <<<"$out")"; continue; }
    a1=$(pg_all_ticks_x)
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    rate=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
    rate=$(printf '%.0f' "${rate:-0}")
    echo "pgbench write sql $k $rate 0 $(per10k $((a1 - a0)) "${n:-0}") 0" >>"$RES"
    say "write path: pgbench $rate creates/s ($k clients, $n transactions); CPU s/10k: all PG $(per10k $((a1 - a0)) "${n:-0}")"
  done
  echo "ours write pool $pool" >>"$RES"
  ours_down
}
