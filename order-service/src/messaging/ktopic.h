/* ktopic.h — the customer topic as the operations API sees it (os_topicinfo_port_t of
 * application/ops_ports.h) on librdkafka: partitions with their leaders (metadata),
 * watermarks, and the first offset at or after a time (rd_kafka_offsets_for_times). It uses
 * the live projection's consumer handle (these calls are thread-safe), bound once the
 * consumer exists and unbound before it is destroyed; unbound, every call fails saying so.
 */
#ifndef OS_KTOPIC_H
#define OS_KTOPIC_H

#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include "application/ops_ports.h"

typedef struct os_ktopic {
    _Atomic(rd_kafka_t *) rk; /* borrowed; NULL: not bound */
} os_ktopic_t;

/* Binds (or with NULL unbinds) the handle the calls use. */
void os_ktopic_bind(os_ktopic_t *kt, rd_kafka_t *rk);
/* The port view (borrowed: valid while `kt` lives). */
os_topicinfo_port_t os_ktopic_port(os_ktopic_t *kt);

#endif
