# bench/cqrs-lag/peer/peer.sh — the Debezium peer of bench/cqrs-lag/peer/run.sh as shell
# functions (source it; it sets nothing else): fetch the Kafka Connect worker and the two
# Debezium plugins from Maven Central, prepare the peer's database, start and stop a
# standalone Connect worker with the outbox source and the read-model sink.
#
#   dbz_fetch                 → fills $DBZ_CACHE (default bench/cqrs-lag/.peer, git-ignored):
#                               worker/ (connect-runtime/-api/-json/-transforms 4.1.1 + log4j2
#                               binding) and plugins/debezium-connector-{postgres,jdbc}/ (each
#                               connector's runtime dependencies without the Kafka jars, which
#                               are the worker's), once per pom checksum, flock-serialised
#   dbz_versions              → "connect-runtime-4.1.1 debezium-connector-postgres-… …"
#   dbz_schema CONNINFO       → the peer's tables in a database customer-service has migrated:
#                               the outbox in the EventRouter's shape, the trigger that writes
#                               it in the customer's transaction, the publication, the read model
#   dbz_start DIR REST_PORT BOOTSTRAP PG_PORT DB TOPIC
#                             → starts the worker (ConnectStandalone, offsets in DIR) with the
#                               source and the sink, waits until both tasks RUN; sets DBZ_PID
#   dbz_stop DIR              → SIGTERM (SIGKILL after 30 s)
#   dbz_drop_slot CONNINFO    → drops the replication slot the source created
#
# Env: DBZ_HEAP (the stock connect-standalone.sh's "-Xms256M -Xmx2G"), DBZ_POLL_MS (the
# source's poll.interval.ms, 10: Debezium's default of 500 ms would add up to half a second
# of lag by itself — the peer gets the setting a user who cares about lag would pick),
# DBZ_LINGER_MS (the worker's producer linger.ms, 0 as our relay's).

DBZ_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DBZ_CACHE=${DBZ_CACHE:-$(cd "$DBZ_HERE/.." && pwd)/.peer}
DBZ_SLOT=dbz_outbox

# _dbz_copy NAME OUT [EXCLUDES]: copy-dependencies of peer/NAME/pom.xml into OUT
_dbz_copy() {
    local name=$1 out=$2 excl=${3:-} sum
    sum=$(sha256sum "$DBZ_HERE/$name/pom.xml" | cut -c1-16)
    [[ -f $out/.stamp && "$(cat "$out/.stamp")" == "$sum" ]] && return 0
    echo "peer.sh: fetching $name from Maven Central into $out …" >&2
    rm -rf "$out"
    mkdir -p "$out"
    mvn -B -q -Dstyle.color=never -f "$DBZ_HERE/$name/pom.xml" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime ${excl:+-DexcludeGroupIds=$excl} -DoutputDirectory="$out" >&2 ||
        { echo "peer.sh: mvn copy-dependencies of $name failed" >&2; return 1; }
    echo "$sum" >"$out/.stamp"
}

dbz_fetch() {
    command -v mvn >/dev/null || { echo "peer.sh: mvn is required (scripts/setup.sh installs it)" >&2; return 2; }
    command -v java >/dev/null || { echo "peer.sh: java 17+ is required" >&2; return 2; }
    mkdir -p "$DBZ_CACHE"
    (
        flock 9
        _dbz_copy worker "$DBZ_CACHE/worker" &&
            _dbz_copy pg-source "$DBZ_CACHE/plugins/debezium-connector-postgres" org.apache.kafka,org.slf4j &&
            _dbz_copy jdbc-sink "$DBZ_CACHE/plugins/debezium-connector-jdbc" org.apache.kafka,org.slf4j
    ) 9>"$DBZ_CACHE/.fetch.lock"
}

dbz_versions() {
    (cd "$DBZ_CACHE" && ls worker/connect-runtime-*.jar plugins/*/debezium-connector-*.jar plugins/*/hibernate-core-*.jar \
        plugins/debezium-connector-jdbc/postgresql-*.jar) | sed 's:.*/::; s:\.jar$::' | tr '\n' ' '
}

dbz_schema() {
    psql -X -q -v ON_ERROR_STOP=1 "$1" -f "$DBZ_HERE/schema.sql" >/dev/null
}

# _dbz_props FILE KEY=VALUE...: a properties file
_dbz_props() {
    local f=$1
    shift
    printf '%s\n' "$@" >"$f"
}

dbz_start() {
    local dir=$1 rest=$2 bootstrap=$3 pgport=$4 db=$5 topic=$6
    mkdir -p "$dir"
    _dbz_props "$dir/worker.properties" \
        "bootstrap.servers=$bootstrap" \
        "listeners=http://127.0.0.1:$rest" \
        "plugin.path=$DBZ_CACHE/plugins" \
        "plugin.discovery=service_load" \
        "offset.storage.file.filename=$dir/connect.offsets" \
        "offset.flush.interval.ms=5000" \
        "key.converter=org.apache.kafka.connect.storage.StringConverter" \
        "value.converter=org.apache.kafka.connect.json.JsonConverter" \
        "value.converter.schemas.enable=true" \
        "producer.linger.ms=${DBZ_LINGER_MS:-0}"
    # The source: pgoutput on a publication of the outbox only, streaming from now on (the
    # tables are new; the topic made by Connect, shaped as ours: 3 partitions, compacted), the EventRouter turning each outbox row into a record on $topic with
    # key = aggregateid and value = the JSON payload expanded into a struct (the sink needs
    # a schema), a NULL payload into a tombstone.
    _dbz_props "$dir/source.properties" \
        "name=outbox-source" \
        "connector.class=io.debezium.connector.postgresql.PostgresConnector" \
        "tasks.max=1" \
        "database.hostname=127.0.0.1" "database.port=$pgport" "database.user=postgres" \
        "database.password=" "database.dbname=$db" \
        "topic.prefix=dbzpeer" \
        "plugin.name=pgoutput" "slot.name=$DBZ_SLOT" \
        "publication.name=dbz_outbox" "publication.autocreate.mode=disabled" \
        "table.include.list=customer.dbz_outbox" \
        "snapshot.mode=no_data" \
        "tombstones.on.delete=false" \
        "poll.interval.ms=${DBZ_POLL_MS:-10}" \
        "transforms=outbox" \
        "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter" \
        "transforms.outbox.route.topic.replacement=$topic" \
        "transforms.outbox.table.expand.json.payload=true" \
        "transforms.outbox.route.tombstone.on.empty.payload=true" \
        "topic.creation.default.partitions=3" \
        "topic.creation.default.replication.factor=1" \
        "topic.creation.default.cleanup.policy=compact"
    # The sink: upserts "order".customers (primary key = the record key, the customer id),
    # deletes on tombstones; the table is the bench's (schema.evolution none). The sink
    # wants a struct key: Connect's HoistField SMT wraps the EventRouter's string key in {id}.
    _dbz_props "$dir/sink.properties" \
        "name=readmodel-sink" \
        "connector.class=io.debezium.connector.jdbc.JdbcSinkConnector" \
        "tasks.max=1" \
        "topics=$topic" \
        "connection.url=jdbc:postgresql://127.0.0.1:$pgport/$db?stringtype=unspecified" \
        "connection.username=postgres" "connection.password=" \
        "insert.mode=upsert" \
        "delete.enabled=true" \
        "primary.key.mode=record_key" "primary.key.fields=id" \
        "schema.evolution=none" \
        "quote.identifiers=true" \
        "collection.name.format=order.customers" \
        "transforms=key" \
        "transforms.key.type=org.apache.kafka.connect.transforms.HoistField\$Key" \
        "transforms.key.field=id"
    local cp="$DBZ_CACHE/worker/*"
    # as bin/connect-standalone.sh + kafka-run-class.sh start it
    # shellcheck disable=SC2086
    setsid java ${DBZ_HEAP:--Xms256M -Xmx2G} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$DBZ_HERE/log4j2.properties" \
        -cp "$cp" org.apache.kafka.connect.cli.ConnectStandalone \
        "$dir/worker.properties" "$dir/source.properties" "$dir/sink.properties" \
        </dev/null >"$dir/connect.log" 2>&1 &
    DBZ_PID=$!
    echo "$DBZ_PID" >"$dir/connect.pid"
    local end=$(($(date +%s) + 180)) c st
    for c in outbox-source readmodel-sink; do
        until st=$(curl -fsS "http://127.0.0.1:$rest/connectors/$c/status" 2>/dev/null) &&
            grep -q '"tasks":\[{[^]]*"state":"RUNNING"' <<<"$st"; do
            kill -0 "$DBZ_PID" 2>/dev/null || { tail -30 "$dir/connect.log" >&2; echo "peer.sh: Connect exited" >&2; return 1; }
            if grep -q '"state":"FAILED"' <<<"${st:-}"; then
                echo "peer.sh: $c failed: $st" >&2
                return 1
            fi
            [ "$(date +%s)" -lt "$end" ] || { echo "peer.sh: $c not running after 180 s: ${st:-no answer}" >&2; return 1; }
            sleep 0.5
        done
    done
}

dbz_stop() {
    local f=$1/connect.pid p i
    [ -f "$f" ] || return 0
    p=$(cat "$f")
    if kill -TERM "$p" 2>/dev/null; then
        for ((i = 0; i < 300; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    fi
    rm -f "$f"
}

dbz_drop_slot() {
    psql -X -qAt "$1" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$DBZ_SLOT'" \
        >/dev/null 2>&1 || true
}
