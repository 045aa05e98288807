/* projector.h — the live projection of the customer topic into "order".customers.
 *
 * A librdkafka consumer in the configured group (enable.auto.commit=false). On every
 * partition assignment the rebalance callback seeks each partition to the offset stored in
 * "order".projection_offsets (the beginning when none) — the database, not Kafka, is the
 * source of truth for where the projection is. Each polled batch is decoded; poison goes to
 * the dead-letter topic (headers dlq.reason, dlq.detail, dlq.source.topic,
 * dlq.source.partition, dlq.source.offset) and must be acknowledged by the broker before the
 * batch is committed; then the events and the next offsets are applied in ONE PostgreSQL
 * transaction (application/projection_svc.h). After each commit the change counter is
 * bumped (read-your-writes) and offsets are also committed to Kafka (for lag tooling only).
 * A failed batch is rolled back, the partitions are sought back, and it is retried with
 * backoff. While PostgreSQL is unreachable it is retried forever (nothing is skipped);
 * when the database answers but the same batch failed max_retries times, its events are
 * applied one per transaction and an event that still fails is dead-lettered
 * (reason "apply-failed") so one bad event cannot stop the projection.
 *
 * Runs on its own thread (os_projector_start) with its own PostgreSQL connection.
 */
#ifndef OS_PROJECTOR_H
#define OS_PROJECTOR_H

#include <stddef.h>

#include "application/ports.h"
#include "clog.h"
#include "evcodec.h"
#include "kfk.h"
#include "metrics.h"

typedef struct os_projector_opts {
    const char *bootstrap;       /* kafka bootstrap servers */
    const char *topic;           /* customer topic */
    const char *group_id;        /* consumer group */
    const char *dlq_topic;       /* dead-letter topic */
    const char *conninfo;        /* PostgreSQL */
    const kfk_kv_t *consumer_kv; /* extra seed-style consumer keys (kfk_conf_apply_all) */
    size_t n_consumer_kv;
    int batch_max;             /* messages per transaction; ≤ 0 → 1000 */
    int poll_ms;               /* first poll's wait; ≤ 0 → 100 */
    int max_retries;           /* failed attempts of a batch (database up) before its
                                  events are applied one by one and the one that still
                                  fails goes to the DLQ ("apply-failed"); ≤ 0 → 5 */
    int retry_backoff_ms;      /* first pause after a failed batch (doubles, ≤ 5 s);
                                  ≤ 0 → 1000 */
    const evcodec_t *codec;    /* borrowed */
    metrics_t *metrics;        /* borrowed, may be NULL */
    os_changes_port_t changes; /* bumped after each commit (bump may be NULL) */
    const clog_t *log;         /* borrowed */
} os_projector_opts_t;

typedef struct os_projector os_projector_t;

/* Connects (PostgreSQL, consumer, DLQ producer) and subscribes. Strings in opts are
 * borrowed and must outlive the projector. Returns an owned projector or NULL + err. */
os_projector_t *os_projector_new(const os_projector_opts_t *opts, char *err, size_t errlen);
/* Starts the consuming thread. 0 or -1. */
int os_projector_start(os_projector_t *p);
/* Asks the thread to finish its current batch (committed), closes the consumer (leaving
 * the group) and joins. Idempotent. */
void os_projector_stop(os_projector_t *p);
/* Stops if needed and destroys the Kafka handles within a bound (≈ 6 s): 0 done, 1 when
 * the consumer handle had to be abandoned (Kafka unreachable with offset commits pending):
 * librdkafka threads still use the projector and its logger then, so the caller must not
 * free anything they reference and should end the process with _exit. NULL-safe. */
int os_projector_shutdown(os_projector_t *p);
/* Shuts down if needed and frees (nothing when abandoned). NULL-safe. */
void os_projector_free(os_projector_t *p);

/* 1 when the thread runs and its last batch did not fail. */
int os_projector_healthy(const os_projector_t *p);
/* 1 when a Kafka broker answered a metadata request recently (cached for 2 s; may block
 * up to 1 s when the cache is stale). Thread-safe. */
int os_projector_kafka_ok(os_projector_t *p);
/* Events applied since start (for tests/logs). */
unsigned long long os_projector_applied(const os_projector_t *p);

#endif
