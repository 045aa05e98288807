/* projector.h — the live projection of the customer topic into "order".customers.
 *
 * A consumer in the configured group (consumer_port.h; kconsumer.h on librdkafka). On every
 * partition assignment each partition starts at the offset stored in
 * "order".projection_offsets (the beginning when none) — the database, not Kafka, is the
 * source of truth for where the projection is. Each polled batch is decoded; poison goes to
 * the dead-letter topic (headers dlq.reason, dlq.detail, dlq.source.topic,
 * dlq.source.partition, dlq.source.offset) and must be acknowledged by the broker before the
 * batch is committed; then the events and the next offsets are applied in ONE PostgreSQL
 * transaction (application/projection_svc.h). After each commit the change counter is
 * bumped (read-your-writes) and offsets are also committed to Kafka (for lag tooling only).
 * A failed batch is rolled back, and before anything else is applied the position is
 * re-read from the stored offsets (as after any reconnect: the database may be behind what
 * this process saw committed); it is retried with backoff. While PostgreSQL is unreachable
 * it is retried forever (nothing is skipped); when the database answers but the same batch
 * failed max_retries times, its events are applied one per transaction and an event that
 * still fails is dead-lettered (reason "apply-failed") so one bad event cannot stop the
 * projection.
 *
 * Idle or not, every check_ms the projector reads its stored offsets back: when its session
 * was replaced (the server restarted, a failover) or a stored offset is behind the position
 * it had committed (the live session commits asynchronously, so a server crash loses its last
 * commits, offsets included), it re-reads its position from the stored offsets and applies
 * those events again — the read model's staleness after a crash is bounded without new
 * traffic. Until the stored offsets are back where they were, it reports itself catching up
 * (os_projector_catching_up; readiness shows "CATCHING_UP"). order_consumer_lag is the high
 * watermark minus the stored offset, set at every commit and at every check.
 *
 * Runs on its own thread (os_projector_start). It reaches PostgreSQL only through the
 * os_projdb_port_t and Kafka only through the consumer and dead-letter ports it is given:
 * main.c builds them (dataaccess/pg_projdb.h, kconsumer.h, kdlq.h).
 */
#ifndef OS_PROJECTOR_H
#define OS_PROJECTOR_H

#include <stdatomic.h>
#include <stddef.h>

#include "application/ops_ports.h"
#include "application/ports.h"
#include "application/worker_ports.h"
#include "clog.h"
#include "evcodec.h"
#include "messaging/consumer_port.h"
#include "metrics.h"

/* The settings a running projector can take on (os_projector_tune): a plain struct. */
typedef struct os_projector_tuning {
    int batch_max;        /* messages per transaction; ≤ 0 → 1000 */
    int poll_ms;          /* first poll's wait; ≤ 0 → 100 */
    int max_retries;      /* failed attempts of a batch (database up) before its events are
                             applied one by one and the one that still fails goes to the DLQ
                             ("apply-failed"); ≤ 0 → 5 */
    int retry_backoff_ms; /* first pause after a failed batch (doubles, ≤ 5 s); ≤ 0 → 1000 */
    int check_ms;         /* how often the stored offsets are read back (idle or not); ≤ 0 → 1000 */
} os_projector_tuning_t;

/* What the projector is wired to (borrowed: everything must outlive the projector). */
typedef struct os_projector_ports {
    const char *topic;           /* the customer topic (offsets are stored under this name) */
    os_projdb_port_t db;         /* used on the projector's thread only */
    os_consumer_port_t consumer; /* likewise */
    os_dlq_port_t dlq;
    os_clock_port_t clock;     /* wall_ms: event ages in the lag metrics; mono_ms: the checks */
    const evcodec_t *codec;    /* decodes the values */
    metrics_t *metrics;        /* may be NULL */
    os_changes_port_t changes; /* bumped after each commit (bump may be NULL) */
    const clog_t *log;
    trc_sink_t tracer; /* where the CONSUMER spans of traced records go (emit NULL: none) */
} os_projector_ports_t;

typedef struct os_projector os_projector_t;

/* Owned projector (not started), or NULL with err (out of memory). */
os_projector_t *os_projector_new(const os_projector_tuning_t *t, const os_projector_ports_t *ports, char *err,
                                 size_t errlen);
/* Takes new settings; the running thread uses them from its next batch on. Thread-safe. */
void os_projector_tune(os_projector_t *p, const os_projector_tuning_t *t);
/* Starts the consuming thread. 0 or -1. */
int os_projector_start(os_projector_t *p);
/* Asks the thread to finish its current batch (committed), closes the consumer (leaving the
 * group, bounded) and joins. Idempotent; NULL-safe. The consumer's handle is destroyed by its
 * owner afterwards (os_kconsumer_shutdown). */
void os_projector_stop(os_projector_t *p);
/* Stops if needed and frees. NULL-safe. */
void os_projector_free(os_projector_t *p);

/* 1 when the thread runs and its last batch did not fail. */
int os_projector_healthy(const os_projector_t *p);
/* 1 while the stored offsets are behind the position the projector had committed before
 * commits were lost (it is re-applying those events). Thread-safe; NULL → 0. */
int os_projector_catching_up(const os_projector_t *p);
/* 1 when a Kafka broker answered recently (the dead-letter port's probe). Thread-safe; NULL
 * → 0. */
int os_projector_kafka_ok(os_projector_t *p);
/* Events applied since start (for tests/logs). */
unsigned long long os_projector_applied(const os_projector_t *p);

/* ---- the operator's commands (projector_ctl.c) ----
 * Each is handed to the consumer thread, which executes it between two batches (never inside
 * one), and waits up to timeout_ms for it to be done: 0, or -1 with err (the projector is not
 * running or did not take the command in time — it may be retrying a batch while PostgreSQL
 * or Kafka is away —, or the command failed). Thread-safe; one command at a time. */

/* on = 1: stops consuming (the assigned partitions are paused: nothing is fetched or applied;
 * rebalances are still served and the stored offsets still read back); on = 0: resumes from
 * the stored offsets. */
int os_projector_set_paused(os_projector_t *p, int on, int timeout_ms, char *err, size_t errlen);
/* Moves the stored position of mv[0..n) (partition → to; any partition of the topic, held
 * here or not): in one transaction with the history (`request` says what was asked), the
 * epochs bumped so that no batch of any replica can store over it; the partitions held here
 * are sought to it before the next batch, the others are re-read by the replica holding them
 * at its next check. Fills mv[i].from and mv[i].epoch. A paused projector stays paused. */
int os_projector_move(os_projector_t *p, os_move_t *mv, size_t n, const char *request, int timeout_ms,
                      char *err, size_t errlen);

/* What the projector reports to the operator (a copy). Thread-safe; NULL → all zero. */
void os_projector_state(os_projector_t *p, os_projctl_state_t *out);

/* The operations API's port on the projector `*slot` points to (set by main once the
 * projector runs; NULL before: state says not running, commands fail). `slot` is borrowed. */
os_projctl_port_t os_projector_ctl_port(_Atomic(os_projector_t *) *slot);

#endif
