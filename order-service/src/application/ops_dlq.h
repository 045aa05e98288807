/* ops_dlq.h — the dead-letter topic seen from the operations API (order-service/README.md,
 * "Operations"): its records listed with their reason, their source coordinates (topic,
 * partition, offset of the record the projection refused) and what the projection's decoder
 * makes of their value now. Reading changes nothing (no offset is committed). Each listing
 * is logged and counted in order_admin_actions_total{action="dlq-list"}.
 */
#ifndef OS_OPS_DLQ_H
#define OS_OPS_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "application/ops_replay.h"

#define OS_OPS_DLQ_LIMIT 20      /* records listed when no limit is asked */
#define OS_OPS_DLQ_LIMIT_MAX 100 /* the most records one listing returns */

/* What to list. */
typedef struct os_ops_dlq_req {
    int32_t partition;  /* < 0: every partition (in partition order) */
    int64_t offset;     /* the first offset looked at (in each partition listed), ≥ 0 */
    size_t limit;       /* 1..OS_OPS_DLQ_LIMIT_MAX records returned */
    const char *reason; /* only records with this dlq.reason; NULL: any */
    const char *key;    /* only records with this key; NULL: any */
} os_ops_dlq_req_t;

#define OS_OPS_DLQ_SCAN_MAX 10000 /* records looked at by one listing at most (with a filter) */

/* One page of the dead-letter topic. */
typedef struct os_ops_dlq {
    os_dlq_rec_t *recs; /* owned (os_ops_dlq_free) */
    size_t n;
    int more;               /* records are left: ask again from next_partition/next_offset */
    int32_t next_partition; /* with more */
    int64_t next_offset;    /* with more */
    size_t scanned;         /* records looked at */
    os_dlq_part_t parts[OS_OPS_MAX_PARTS];
    size_t nparts;
} os_ops_dlq_t;

/* Lists the records of the dead-letter topic that match rq into *out (a large struct:
 * allocate it; free its records with os_ops_dlq_free), reading it from rq->offset, at most
 * OS_OPS_DLQ_SCAN_MAX records per call. OS_OPS_INVALID names a partition the topic does not
 * have or a bad limit/offset; OS_OPS_UNAVAILABLE when Kafka did not answer. */
os_ops_rc_t os_ops_dlq_list(const os_ops_t *o, const os_ops_dlq_req_t *rq, os_ops_dlq_t *out, char *err,
                            size_t errlen);

/* The same without the log line and the count (the redrive's own reads). */
os_ops_rc_t os_ops_dlq_read(const os_ops_t *o, const os_ops_dlq_req_t *rq, os_ops_dlq_t *out, char *err,
                            size_t errlen);

/* Frees out's records. NULL-safe. */
void os_ops_dlq_free(os_ops_dlq_t *out);

#endif
