/* consumer_port.h — the Kafka side of the live projection as ports (ops-structs): the
 * consumer of the customer topic and the dead-letter producer. kconsumer.h and kdlq.h
 * implement them on librdkafka; the projector's loop (projector_loop.c) sees only these, so
 * its unit tests drive it with a fake topic.
 */
#ifndef OS_CONSUMER_PORT_H
#define OS_CONSUMER_PORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "application/ports.h"

#include "trc.h"

/* A partition with no stored offset starts here (librdkafka's RD_KAFKA_OFFSET_BEGINNING). */
#define OS_OFFSET_BEGINNING (-2)

enum { OS_MSG_OK = 0, OS_MSG_EOF, OS_MSG_ERROR };

/* One polled message of the topic. Its buffers belong to the consumer until released. */
typedef struct os_msg {
    int err;            /* OS_MSG_OK, OS_MSG_EOF (end of a partition reached: not a record), OS_MSG_ERROR */
    const char *errstr; /* OS_MSG_ERROR: what happened */
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value; /* NULL or len 0: a tombstone */
    size_t len;
    void *handle;                              /* the consumer's own (e.g. the rd_kafka_message_t) */
    char traceparent[TRC_TRACEPARENT_LEN + 1]; /* the record's `traceparent` header; "" when none */
} os_msg_t;

/* Told about rebalances, which happen inside poll() and close() on the caller's thread. */
typedef struct os_rebalance {
    void *self;
    /* `n` partitions of the topic were assigned: set from[i] to the offset partitions[i]
     * starts at (OS_OFFSET_BEGINNING when nothing is stored). */
    void (*assigned)(void *self, const int32_t *partitions, int64_t *from, size_t n);
    /* `n` partitions were revoked (the whole assignment). */
    void (*revoked)(void *self, size_t n);
} os_rebalance_t;

/* A group consumer of one topic. One thread uses it. */
typedef struct os_consumer_port {
    void *self;
    /* Waits up to timeout_ms for the next message: 1 (*out filled; release it), 0 none. */
    int (*poll)(void *self, int timeout_ms, const os_rebalance_t *rb, os_msg_t *out);
    void (*release)(void *self, os_msg_t *m);
    /* The partitions of the topic assigned now (≤ cap into out): the count, or -1. */
    int (*assignment)(void *self, int32_t *out, int cap);
    /* Moves the positions of assigned partitions: the next poll returns offs[i].next_offset
     * of offs[i].partition (OS_OFFSET_BEGINNING: the first). */
    int (*seek)(void *self, const os_offset_t *offs, size_t n, char *err, size_t errlen);
    /* Records committed positions in Kafka (informational, for lag tooling: PostgreSQL holds
     * the truth); may batch them. */
    void (*commit)(void *self, const os_offset_t *offs, size_t n);
    /* The partition's high watermark as last seen by the fetcher (no round trip): 0 or -1. */
    int (*high_watermark)(void *self, int32_t partition, int64_t *hi);
    /* Leaves the group within `ms` (rebalances served meanwhile): 1 closed, 0 given up. */
    int (*close)(void *self, int ms, const os_rebalance_t *rb);
    /* on: stops fetching every assigned partition, and the partitions later rebalances assign,
     * until called with 0 (poll still serves rebalances meanwhile); what was fetched before may
     * still be returned. 0 or -1. */
    int (*pause)(void *self, int on);
} os_consumer_port_t;

/* A message that cannot be applied and goes to the dead-letter topic. */
typedef struct os_poison {
    const os_msg_t *msg; /* borrowed from the batch */
    const char *reason;  /* static: "bad-magic", "unknown-schema-id", "bad-avro", "invalid-event",
                            "bad-key", "apply-failed" */
    char detail[256];
} os_poison_t;

/* The dead-letter producer. */
typedef struct os_dlq_port {
    void *self;
    /* Sends `n` entries (the message's key and value, headers dlq.reason, dlq.detail,
     * dlq.source.topic/partition/offset) and waits for the broker's acknowledgements — giving
     * up when `stop` becomes non-zero or after 30 s. 0 when every one was acknowledged, else
     * -1 (the batch must not commit). */
    int (*send)(void *self, const os_poison_t *list, size_t n, const atomic_int *stop);
    /* 1 when a broker answered recently (cached; may block ≤ 1 s). Thread-safe. */
    int (*reachable)(void *self);
} os_dlq_port_t;

#endif
