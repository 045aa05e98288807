/* kconsumer.h — the customer topic's group consumer on librdkafka (os_consumer_port_t of
 * consumer_port.h), as the live projection uses it: enable.auto.commit and
 * enable.auto.offset.store off (the positions that count are the ones stored in PostgreSQL
 * with the rows; Kafka's committed offsets are written too, at most once a second, for lag
 * tooling only), partition.assignment.strategy range,roundrobin, and on every assignment the
 * rebalance listener says where each partition starts. Leaving the group and destroying
 * the handle are bounded: with the broker gone neither would return.
 */
#ifndef OS_KCONSUMER_H
#define OS_KCONSUMER_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "clog.h"
#include "kfk.h"
#include "messaging/consumer_port.h"

typedef struct os_kconsumer_opts {
    const kfk_client_t *kafka;   /* the shared client settings (borrowed) */
    const char *topic;           /* the one topic subscribed */
    const char *group_id;        /* consumer group */
    const kfk_kv_t *consumer_kv; /* extra seed-style consumer keys (kfk_conf_apply_all) */
    size_t n_consumer_kv;
    const clog_t *log;
} os_kconsumer_opts_t;

typedef struct os_kconsumer os_kconsumer_t;

/* Creates the consumer and subscribes (the group is joined by the first poll). The strings
 * and the log are borrowed and must outlive it. Owned, or NULL with err. */
os_kconsumer_t *os_kconsumer_new(const os_kconsumer_opts_t *o, char *err, size_t errlen);
/* The port view (borrowed: valid while `k` lives). */
os_consumer_port_t os_kconsumer_port(os_kconsumer_t *k);
/* The librdkafka handle, for the thread-safe calls of the topic's description (ktopic.h:
 * metadata, watermarks, offsets for a time). Borrowed; valid until os_kconsumer_shutdown. */
rd_kafka_t *os_kconsumer_handle(os_kconsumer_t *k);
/* Destroys the handle within a bound (≈ 4 s; after close(), or without leaving the group when
 * it was not closed): 0 done, 1 when it had to be abandoned (Kafka unreachable with offset
 * commits pending) — librdkafka's threads then still use `k` and the log, so the caller must
 * free neither and should end the process with _exit. NULL-safe; idempotent. */
int os_kconsumer_shutdown(os_kconsumer_t *k);
/* Shuts down if needed and frees (nothing when abandoned). NULL-safe. */
void os_kconsumer_free(os_kconsumer_t *k);

/* For a consumer used directly (the rebuild's): `m` (STOLEN) as an os_msg_t whose handle is
 * m, to be released with os_kmsg_release (self unused). */
void os_kmsg_wrap(rd_kafka_message_t *m, os_msg_t *out);
void os_kmsg_release(void *self, os_msg_t *m);

#endif
