/* kdlq_reader.h — the dead-letter topic read for the operations API (os_dlqread_port_t of
 * application/ops_ports.h): a one-off librdkafka consumer per call (made from the service's
 * Kafka client settings, group "<group>-dlq-reader", nothing committed), assigned partition
 * by partition from the asked offset up to the high watermark at the call. Each record comes
 * with its dlq.* headers and what the live projection's own decoder (messaging/batch.h) makes
 * of its value now — the event, or the poison reason it would still get. Any thread; each
 * call bounded (10 s without a record fails it).
 */
#ifndef OS_KDLQ_READER_H
#define OS_KDLQ_READER_H

#include "application/ops_ports.h"
#include "clog.h"
#include "evcodec.h"
#include "kfk.h"

typedef struct os_kdlqreader {
    const kfk_client_t *kafka; /* the service's Kafka client settings (borrowed) */
    const char *dlq_topic;     /* borrowed */
    const char *group_prefix;  /* the projection's group id (borrowed) */
    const evcodec_t *codec;    /* borrowed */
    const clog_t *log;
} os_kdlqreader_t;

/* The port view (borrowed: valid while `r` lives). */
os_dlqread_port_t os_kdlqreader_port(os_kdlqreader_t *r);

#endif
