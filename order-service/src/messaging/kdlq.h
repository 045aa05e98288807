/* kdlq.h — the projection's dead-letter producer on librdkafka (os_dlq_port_t of
 * consumer_port.h): linger.ms 0, delivery reports counted per send, the broker's
 * acknowledgements awaited in slices so that a stop request is not held up by an
 * unreachable broker. Also the readiness probe "kafka" (a metadata request, cached 2 s).
 */
#ifndef OS_KDLQ_H
#define OS_KDLQ_H

#include <stddef.h>

#include "clog.h"
#include "kfk.h"
#include "messaging/consumer_port.h"

typedef struct os_kdlq_opts {
    const kfk_client_t *kafka; /* the shared client settings (borrowed) */
    const char *dlq_topic;     /* where dead letters go */
    const char *source_topic;  /* the dlq.source.topic header */
    const clog_t *log;
} os_kdlq_opts_t;

typedef struct os_kdlq os_kdlq_t;

/* Strings and log borrowed (must outlive it). Owned, or NULL with err. */
os_kdlq_t *os_kdlq_new(const os_kdlq_opts_t *o, char *err, size_t errlen);
/* The port view (borrowed: valid while `d` lives). */
os_dlq_port_t os_kdlq_port(os_kdlq_t *d);
/* Flushes (≤ 2 s; what a stop interrupted is dropped — that batch was not committed and is
 * read again), destroys and frees. NULL-safe. */
void os_kdlq_free(os_kdlq_t *d);

#endif
