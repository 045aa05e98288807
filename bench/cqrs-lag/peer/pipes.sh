# bench/cqrs-lag/peer/pipes.sh — the two pipelines' lifecycles for peer/run.sh (sourced; uses
# its TRIO_*/PG_*/BENCH_DIR/RES and trio.sh, peer.sh): each in a database and topic of its own.
#   ours_up NAME [norelay]  → config-server + customer-service (+ order-service: ours_readers);
#                             sets PIPE=ours, PG, TRIO_DIR; with "norelay", order-service is not
#                             started and the relay is held off (relay_hold) until relay_release
#   peer_up NAME [nostart]  → config-server + customer-service with our relay held off, the
#                             peer's schema; with "nostart" the Debezium slot is created but
#                             the Connect worker not started (peer_connect starts it)
#   ours_account LABEL / peer_account LABEL → waits for the exact account, appends it to $RES
#   ours_down / peer_down
# The relay is held off without touching customer-service: a psql session of the bench holds
# the relay's advisory lock (outbox.lock-key's default), so that customer-service's relay
# stays a standby and never publishes (its rows wait, as a second replica's would).

topic_end() { # topic → sum of its partitions' end offsets (TOPIC_PARTITIONS, 3)
  local a=() p
  for ((p = 0; p < ${TOPIC_PARTITIONS:-3}; p++)); do a+=(-t "$1:$p:-1"); done
  kcat -b "$CQ_KAFKA_BOOTSTRAP" -Q "${a[@]}" 2>/dev/null | awk '{s += $NF} END {print s + 0}'
}
same_rows() {
  q "$PG" "SELECT (SELECT count(*) FROM customer.customers), (SELECT count(*) FROM \"order\".customers),
      (SELECT count(*) FROM customer.customers c JOIN \"order\".customers o USING (id)
        WHERE (c.version, c.username, c.first_name, c.last_name) = (o.version, o.username, o.first_name, o.last_name))" | tr '|' ' '
}

relay_hold() { # holds the relay's advisory lock in $PG until relay_release
  rm -f "$TRIO_DIR/lock.fifo"
  mkfifo "$TRIO_DIR/lock.fifo"
  psql -X -q "$PG" <"$TRIO_DIR/lock.fifo" >"$TRIO_DIR/lock.log" 2>&1 &
  LOCK_PSQL=$!
  exec 8>"$TRIO_DIR/lock.fifo"
  LOCK_FD=8
  echo "SELECT pg_advisory_lock($(printf '%d' 0x637573746f6d6572));" >&8
  for _ in $(seq 1 50); do [ "$(q "$PG" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ] && break; sleep 0.1; done
}
# the lock's psql session ends: its fifo closed and, since a background job forked meanwhile
# keeps a copy of the fifo open, the psql stopped too
relay_release() {
  [ -n "${LOCK_FD:-}" ] || return 0
  exec 8>&-
  LOCK_FD=
  kill "$LOCK_PSQL" 2>/dev/null || true
  wait "$LOCK_PSQL" 2>/dev/null || true
}

_pipe_db() { # NAME PIPE → a fresh database and topic for the pipeline
  PIPE=$2 TRIO_DIR=$BENCH_DIR/$1 TRIO_DB=vsdbz_${1//-/_}_$$ TRIO_TOPIC=vsdbz-$1-$$
  rm -rf "$TRIO_DIR"
  mkdir -p "$TRIO_DIR"
  echo "TRIO_DB=$TRIO_DB TRIO_TOPIC=$TRIO_TOPIC" >"$TRIO_DIR/env"
  trio_psql -c "CREATE DATABASE $TRIO_DB" >/dev/null
  PG="host=$PG_HOST port=$PG_PORT user=postgres dbname=$TRIO_DB"
}
_writer_up() { # config-server + customer-service
  trio_start config-server "$CONFIG_PORT" --repo "$ROOT/config-repo" --port "$CONFIG_PORT"
  trio_wait "http://127.0.0.1:$CONFIG_PORT/actuator/health" 30
  trio_start customer-service "$CUSTOMER_PORT"
  trio_wait "$CUSTOMER_URL/health/readiness" 60
}

ours_up() {
  _pipe_db "$1" ours
  PIPE_SRC=relay
  say "$1: config-server + customer-service$([ "${2:-}" = norelay ] && echo ' (relay held off)' || echo ' + order-service') (db $TRIO_DB, topic $TRIO_TOPIC)"
  # the topic first, as the relay would make it (TOPIC_PARTITIONS, compacted): order-service
  # then gets its partitions at once, not after the relay's first record (the drain's start)
  "$BIN/os_produce" --bootstrap "$CQ_KAFKA_BOOTSTRAP" --topic "$TRIO_TOPIC" --create "${TOPIC_PARTITIONS:-3}" \
    --customers 0 >/dev/null 2>&1 || say "could not create topic $TRIO_TOPIC (the relay will)"
  if [ "${2:-}" = norelay ]; then relay_hold; fi # before customer-service: its relay tries the lock at once
  _writer_up
  if [ "${2:-}" = norelay ]; then
    if curl -fsS "$CUSTOMER_URL/metrics" | grep -q '^customer_outbox_relay_leader 1'; then say "our relay leads although held off"; exit 1; fi
  else
    ours_readers
  fi
}
ours_readers() { # order-service (OS_REPLICAS of it, 1)
  local i
  trio_start order-service "$ORDER_PORT"
  trio_wait "$ORDER_URL/health/readiness" 60
  for ((i = 2; i <= ${OS_REPLICAS:-1}; i++)); do
    trio_start "order-service:$i" $((ORDER_PORT + 100 + i))
    trio_wait "http://127.0.0.1:$((ORDER_PORT + 100 + i))/health/readiness" 60
  done
  # until the consumer group has every partition (its log says so), 60 s at most
  for _ in $(seq 1 600); do
    [ "$(cat "$TRIO_DIR"/order-service*.log 2>/dev/null | grep -c 'projection: assigned')" -ge "${TOPIC_PARTITIONS:-3}" ] && break
    sleep 0.1
  done
}
ours_account() {
  local ok_acct=0 end w r i
  trio_account >&2 && ok_acct=1
  end=$(topic_end "$TRIO_TOPIC")
  [ "$end" = "$EVENTS" ] || ok_acct=0
  read -r w r i <<<"$(same_rows)"
  echo "ours $1 $w $r $i $EVENTS $end $(q "$PG" 'SELECT coalesce(sum(next_offset), 0) FROM "order".projection_offsets') $ok_acct" >>"$RES"
  say "ours: topic end offsets $end"
}
ours_down() { relay_release; trio_down >/dev/null 2>&1 || true; }

peer_up() {
  _pipe_db "$1" peer
  PIPE_SRC=source PEER_PG=$PG
  say "$1: config-server + customer-service (relay held off) + Debezium on Kafka Connect (db $TRIO_DB, topic $TRIO_TOPIC)"
  relay_hold
  _writer_up
  if curl -fsS "$CUSTOMER_URL/metrics" | grep -q '^customer_outbox_relay_leader 1'; then say "our relay leads in the peer's database"; exit 1; fi
  dbz_schema "$PG"
  if [ "${2:-}" = nostart ]; then
    # the slot first (as the connector would make it), so that it keeps every change from now on
    q "$PG" "SELECT pg_create_logical_replication_slot('$DBZ_SLOT', 'pgoutput')" >/dev/null
  else
    peer_connect
  fi
}
peer_connect() {
  # a fresh worker: no source offsets of an earlier phase's database (its LSN is not in this slot)
  rm -rf "$BENCH_DIR/connect"
  say "starting the Connect worker (Debezium $(dbz_versions))"
  dbz_start "$BENCH_DIR/connect" "$CONNECT_PORT" "$CQ_KAFKA_BOOTSTRAP" "$PG_PORT" "$TRIO_DB" "$TRIO_TOPIC" >&2
}
peer_account() { # the account: waits until the sink has applied everything on the topic
  local end events sink w r i ok_acct=0
  for _ in $(seq 1 600); do
    end=$(topic_end "$TRIO_TOPIC")
    events=$(q "$PG" 'SELECT count(*) FROM customer.dbz_outbox')
    sink=$(curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/readmodel-sink/offsets" | grep -o '"kafka_offset":[0-9]*' | awk -F: '{s += $2} END {print s + 0}') || sink=0
    read -r w r i <<<"$(same_rows)"
    [ "$end" = "$events" ] && [ "$sink" = "$end" ] && [ "$w" = "$r" ] && [ "$r" = "$i" ] && break
    sleep 0.1
  done
  [ "$end" = "$events" ] && [ "$sink" = "$end" ] && [ "$w" = "$r" ] && [ "$r" = "$i" ] && ok_acct=1
  echo "peer $1 $w $r $i $events $end $sink $ok_acct" >>"$RES"
  say "peer account: write side $w, read model $r, identical $i, events written $events, topic end offsets $end, sink committed $sink"
}
peer_down() {
  DBZ_VERSIONS=$(dbz_versions)
  dbz_stop "$BENCH_DIR/connect"
  dbz_drop_slot "$PG"
  relay_release
  trio_down >/dev/null 2>&1 || true
}
