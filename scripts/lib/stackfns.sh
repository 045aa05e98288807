# scripts/lib/stackfns.sh — shell functions shared by scripts/stack.sh (the single-node dev
# and test stack), scripts/cluster.sh (3 Kafka brokers + a PostgreSQL primary/standby) and
# the integration tests that start programs or a broker of their own (tests/integration/).
# Sourced, never run. The caller sets:
#   root        the repository root
#   SAY         the message prefix ("stack", "cluster")
#   KAFKA_LIBS  the directory of the Kafka broker jars (setup.sh fills .stack/kafka-libs)
#   LOGS        where the Kafka JVMs' own logs (kafka.logs.dir) go
# Nothing here starts anything by itself.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

say() { printf '%s: %s\n' "${SAY:-stack}" "$*"; }
die() { printf '%s: error: %s\n' "${SAY:-stack}" "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
show_log() { local f=$1; [ -f "$f" ] && { echo "---- last lines of $f ----" >&2; tail -n "${2:-25}" "$f" >&2; }; return 0; }

# close_fds: closes every descriptor above 2 of the current (sub)shell. A daemon started by a
# script that runs under `flock LOCK` (fd 3 and the like) must not hold the lock, or a pipe of
# the caller, for as long as it lives: call it in the subshell that starts the daemon.
close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

# daemon CMD...: runs CMD (a function too) with no inherited descriptor above 2.
daemon() { ( close_fds; "$@" ); }

as_pg() {  # runs a command as the postgres user when we are root (initdb refuses root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_pid() {  # stop_pid NAME PIDFILE [TIMEOUT_S]: SIGTERM, then SIGKILL after TIMEOUT_S
  local name=$1 pidf=$2 t=${3:-30}
  pid_alive "$pidf" || { rm -f "$pidf"; return 0; }
  local p; p=$(cat "$pidf")
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 $(( t * 10 ))); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then say "$name did not stop in ${t}s: killing"; kill -KILL "$p" 2>/dev/null || true; fi
  rm -f "$pidf"
  say "$name stopped"
}

# pg_owned_dir DIR: creates DIR for a PostgreSQL data directory and prints the path to use.
# The directory must be reachable by the postgres user. Under a root-only parent (a clone
# in a 0700 temp dir, say) it lives under /var/lib/postgresql instead, DIR a symlink to it.
pg_owned_dir() {
  local d=$1 parent; parent=$(dirname "$1")
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$parent"
    if [ -L "$d" ]; then readlink -f "$d"; return; fi
    if ! runuser -u postgres -- test -x "$parent" 2>/dev/null; then
      local alt=/var/lib/postgresql/cq-stacks/$(printf '%s' "$d" | sha1sum | cut -c1-12)
      mkdir -p "$alt"; chown postgres: "$alt" "$(dirname "$alt")"
      ln -sfn "$alt" "$d"; echo "$alt"; return
    fi
    mkdir -p "$d"; chown postgres: "$d"
  else
    mkdir -p "$d"
  fi
  echo "$d"
}

# pg_drop_dir DIR: removes a data directory made by pg_owned_dir (and its symlink target).
pg_drop_dir() {
  [ -L "$1" ] && rm -rf "$(readlink -f "$1")"
  rm -rf "$1"
}

kafka_jars_check() {
  ls "$KAFKA_LIBS"/kafka_2.13-*.jar >/dev/null 2>&1 || die "no Kafka jars in $KAFKA_LIBS: run scripts/setup.sh first"
}

kafka_jopts() { echo "-Dlog4j2.configurationFile=$root/scripts/kafka/log4j2.properties -Dkafka.logs.dir=$LOGS"; }

# kafka_props_write FILE COMMENT KEY=VALUE...: writes the server.properties of a combined
# KRaft broker+controller (scripts/stack.sh's single node, scripts/cluster.sh's three, the
# SASL test's broker). Every broker here shares the defaults below: 3 partitions a topic, no
# auto-created topics, no initial rebalance delay, internal topics of one replica. The
# KEY=VALUE arguments replace a default in place or add a setting; node.id,
# controller.quorum.voters, listeners, advertised.listeners, listener.security.protocol.map
# and log.dirs must be given. COMMENT is the file's first line.
kafka_props_write() {
  local file=$1 comment=$2 kv k; shift 2
  local -a keys=(process.roles node.id controller.quorum.voters listeners advertised.listeners
    controller.listener.names inter.broker.listener.name listener.security.protocol.map log.dirs
    num.partitions offsets.topic.replication.factor offsets.topic.num.partitions
    transaction.state.log.replication.factor transaction.state.log.min.isr
    share.coordinator.state.topic.replication.factor share.coordinator.state.topic.min.isr
    group.initial.rebalance.delay.ms auto.create.topics.enable)
  local -A val=([process.roles]=broker,controller [controller.listener.names]=CONTROLLER
    [inter.broker.listener.name]=PLAINTEXT [num.partitions]=3
    [offsets.topic.replication.factor]=1 [offsets.topic.num.partitions]=1
    [transaction.state.log.replication.factor]=1 [transaction.state.log.min.isr]=1
    [share.coordinator.state.topic.replication.factor]=1 [share.coordinator.state.topic.min.isr]=1
    [group.initial.rebalance.delay.ms]=0 [auto.create.topics.enable]=false)
  for kv in "$@"; do
    k=${kv%%=*}
    [ "$k" != "$kv" ] && [ -n "$k" ] || die "kafka_props_write: '$kv' is not KEY=VALUE"
    [ -n "${val[$k]+set}" ] || { [[ " ${keys[*]} " == *" $k "* ]] || keys+=("$k"); }
    val[$k]=${kv#*=}
  done
  for k in node.id controller.quorum.voters listeners advertised.listeners listener.security.protocol.map log.dirs; do
    [ -n "${val[$k]:-}" ] || die "kafka_props_write: $k not given ($file)"
  done
  { printf '# %s\n' "$comment"
    for k in "${keys[@]}"; do printf '%s=%s\n' "$k" "${val[$k]}"; done; } >"$file"
}

# kafka_format PROPS CLUSTER_ID LOG [ARG...]: formats the KRaft storage of PROPS' log.dirs
# (ARGs go to the storage tool, e.g. --add-scram).
kafka_format() {
  local props=$1 id=$2 log=$3; shift 3
  # shellcheck disable=SC2046
  java -Xmx256m $(kafka_jopts) -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$id" -c "$props" "$@" \
    >"$log" 2>&1 || { show_log "$log"; die "Kafka storage format failed ($props)"; }
}

# kafka_launch PROPS LOG PIDFILE HEAP: starts a broker/controller JVM on PROPS in its own
# session (no inherited descriptor above 2), without waiting (the nodes of a fresh 3-node quorum must start together).
kafka_launch() {
  local props=$1 log=$2 pid=$3 heap=$4
  mkdir -p "$(dirname "$pid")" "$LOGS"
  : >"$log"
  # shellcheck disable=SC2046,SC2086
  ( close_fds
    exec setsid nohup java $heap -XX:+UseSerialGC -Xss512k -Djava.awt.headless=true $(kafka_jopts) \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$props" ) >>"$log" 2>&1 </dev/null &
  echo $! >"$pid"
}

# kafka_wait NAME LOG PIDFILE PORT T0_MS: waits (120 s at most) until the JVM logged its
# start and answers metadata requests on 127.0.0.1:PORT.
kafka_wait() {
  local name=$1 log=$2 pid=$3 port=$4 t0=$5
  local deadline=$(( $(date +%s) + 120 ))
  until grep -q 'Kafka Server started' "$log" 2>/dev/null; do
    pid_alive "$pid" || { show_log "$log" 40; rm -f "$pid"; die "$name exited during start"; }
    [ "$(date +%s)" -lt "$deadline" ] || { show_log "$log" 40; die "$name not ready after 120 s"; }
    sleep 0.2
  done
  # The log line says the broker started; make sure it really answers metadata requests.
  until kcat -b "127.0.0.1:$port" -L -m 5 >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { show_log "$log" 40; die "$name does not answer on 127.0.0.1:$port"; }
    sleep 0.2
  done
  say "$name ready on 127.0.0.1:$port in $(( $(now_ms) - t0 )) ms (pid $(cat "$pid"))"
}

# kafka_start NAME PROPS LOG PIDFILE PORT HEAP: kafka_launch + kafka_wait (the caller checks
# the ports are free).
kafka_start() {
  local t0; t0=$(now_ms)
  kafka_launch "$2" "$3" "$4" "$6"
  kafka_wait "$1" "$3" "$4" "$5" "$t0"
}
