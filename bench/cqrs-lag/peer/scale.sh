# bench/cqrs-lag/peer/scale.sh — the scale curves of peer/run.sh (sourced; uses pipes.sh,
# steps.sh): our pipeline at 1,000 creates/s (SCALE_RATE) for SECONDS_PER_RATE at each point,
# with the step's figures (lag p50/p99 by LAG_METER, CPU-s per 10k events of the pipeline, its
# PostgreSQL backends and all of PostgreSQL):
#   base       a fresh database, 3 partitions, 1 order-service;
#   outbox     + SCALE_ROWS published rows retained in customer.outbox (ids below the relay's
#              position, occurred now: the retention keeps them), VACUUM ANALYZEd;
#   readmodel  + SCALE_ROWS customers on both sides (customer.customers and "order".customers,
#              the same rows: the account still holds), VACUUM ANALYZEd;
#   wide       a fresh database, 12 partitions (SCALE_PARTITIONS), 3 order-service replicas
#              (SCALE_REPLICAS).
# SCALE_ROWS is 10,000,000 (issue 20); a smoke run sets it lower. The peak backlog column
# comes from PostgreSQL's table statistics here (a count(*) of 10M rows every second would
# weigh on what is measured): up to a second behind. Each point's line goes to $RES (label
# scale-POINT) and RUN_DIR/scale.dat (for the plot); then the accounts of both trios.

scale_curves() {
  local rows=${SCALE_ROWS:-10000000} rate=${SCALE_RATE:-1000} t0
  BACKLOG_FROM_STATS=1
  ours_up scale
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate 200 --seconds "$WARMUP_S" >/dev/null 2>&1 || true
  step "$rate" "$STEP_S" scale-base || true
  t0=$(date +%s)
  q "$PG" "INSERT INTO customer.outbox (id, aggregate_id, version, event_type, payload, occurred_at)
           SELECT -g, gen_random_uuid(), 1, 'CREATED', decode(repeat('ab', 100), 'hex'), now()
           FROM generate_series(1, $rows) g" >/dev/null
  q "$PG" "VACUUM ANALYZE customer.outbox" >/dev/null
  say "scale: $rows published rows retained in the outbox (written in $(($(date +%s) - t0)) s)"
  step "$rate" "$STEP_S" scale-outbox || true
  t0=$(date +%s)
  q "$PG" "CREATE TEMP TABLE s AS SELECT gen_random_uuid() id, 'scale-' || g username FROM generate_series(1, $rows) g;
           INSERT INTO customer.customers (id, username, first_name, last_name, version) SELECT id, username, 'Scale', 'Point', 1 FROM s;
           INSERT INTO \"order\".customers (id, username, first_name, last_name, version) SELECT id, username, 'Scale', 'Point', 1 FROM s" >/dev/null
  q "$PG" "VACUUM ANALYZE customer.customers" >/dev/null
  q "$PG" "VACUUM ANALYZE \"order\".customers" >/dev/null
  say "scale: $rows customers in the write side and the read model (written in $(($(date +%s) - t0)) s)"
  step "$rate" "$STEP_S" scale-readmodel || true
  # the account: the preloaded outbox rows are not events of the topic
  q "$PG" "DELETE FROM customer.outbox WHERE id < 0" >/dev/null
  ours_account scale-account
  ours_down
  TOPIC_PARTITIONS=${SCALE_PARTITIONS:-12} OS_REPLICAS=${SCALE_REPLICAS:-3}
  export KAFKA_CONFIG_NUM_OF_PARTITIONS=$TOPIC_PARTITIONS
  ours_up scale-wide
  say "scale: $(kcat -b "$CQ_KAFKA_BOOTSTRAP" -L -t "$TRIO_TOPIC" 2>/dev/null | grep -c 'partition ') partitions, $OS_REPLICAS order-service replicas"
  "$BIN/os_lagbench" --customer-url "$CUSTOMER_URL" --pg "$PG" --rate 200 --seconds "$WARMUP_S" >/dev/null 2>&1 || true
  step "$rate" "$STEP_S" scale-wide || true
  ours_account scale-wide-account
  ours_down
  unset KAFKA_CONFIG_NUM_OF_PARTITIONS TOPIC_PARTITIONS OS_REPLICAS BACKLOG_FROM_STATS
  awk '$1 == "ours" && $2 ~ /^scale-(base|outbox|readmodel|wide)$/ { print substr($2, 7), $10, $11, $12, $8 }' "$RES" >"$RUN_DIR/scale.dat"
}
