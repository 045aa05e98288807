/* ops_redrive.h — sending dead letters back to be applied (order-service/README.md, "Dead
 * letters: redrive"): one record (partition + offset), the records matching a reason and/or a
 * key, or all of them. Each record goes through the live projection's own apply path
 * (application/projection_svc.h on the live table, in a transaction of its own): the version
 * guard skips a record whose customer already has its version or a newer one (reported
 * "skipped"; no row ever moves backwards). Applied or skipped, the record's position is
 * written to "order".dlq_redrives in that same transaction, so a record is handled once: a
 * second redrive reports it "already-handled". A record that still does not decode or is
 * still invalid is reported "failed" with the reason and not recorded (it stays redrivable
 * after the next fix); so is one the database could not take. The dead-letter topic itself is
 * never written. Every record is logged (action dlq-redrive) and counted in
 * order_dlq_redrive_records_total{outcome}; each request in order_admin_actions_total.
 */
#ifndef OS_OPS_REDRIVE_H
#define OS_OPS_REDRIVE_H

#include <stddef.h>
#include <stdint.h>

#include "application/ops_replay.h"
#include "application/projection_svc.h"

#define OS_OPS_REDRIVE_MAX 1000    /* records handled by one request at most (then "more") */
#define OS_OPS_REDRIVE_RECORDS 100 /* named records in one request at most */

typedef struct os_dlq_pos {
    int32_t partition;
    int64_t offset;
} os_dlq_pos_t;

/* What to redrive: the named records, or else every record matching the filters (NULL: any)
 * of `partition` (< 0: every partition), from `from` on. */
typedef struct os_ops_redrive_req {
    const os_dlq_pos_t *recs; /* the named records (n ≤ OS_OPS_REDRIVE_RECORDS); NULL: scan */
    size_t nrecs;
    const char *reason; /* only records with this dlq.reason */
    const char *key;    /* only records with this key */
    int32_t partition;  /* scan only this partition; < 0 all */
    os_dlq_pos_t from;  /* scan from this partition and offset on (a previous answer's next) */
} os_ops_redrive_req_t;

typedef enum {
    OS_RD_APPLIED = 0, /* written to the read model (insert, update or delete) */
    OS_RD_SKIPPED,     /* the version guard: the row has this version or a newer one, or a
                          deletion of a customer the read model does not have */
    OS_RD_ALREADY,     /* handled by an earlier redrive: nothing done */
    OS_RD_FAILED       /* still cannot be decoded or applied: not recorded */
} os_rd_outcome_t;

/* "applied", "skipped", "already-handled", "failed". */
const char *os_rd_outcome_name(os_rd_outcome_t o);

/* One record's outcome. */
typedef struct os_rd_result {
    int32_t partition;
    int64_t offset;
    char key[80];
    char reason[40]; /* its dlq.reason */
    char src_topic[200];
    int32_t src_partition;
    int64_t src_offset;
    char id[37];     /* the customer ("" when it did not decode) */
    int64_t version; /* the record's version (0: a tombstone or not decoded) */
    int tombstone;
    os_rd_outcome_t outcome;
    const char *decision; /* the version guard's decision (proj_decision_name) or NULL */
    char detail[400];     /* why skipped / failed, or what the earlier redrive did */
} os_rd_result_t;

typedef struct os_ops_redrive {
    os_rd_result_t *res; /* owned (os_ops_redrive_free) */
    size_t n;
    size_t counts[OS_RD_FAILED + 1]; /* by outcome */
    int more;                        /* a scan stopped at OS_OPS_REDRIVE_MAX: go on from next */
    os_dlq_pos_t next;
} os_ops_redrive_t;

/* The outcome of one record's application from the projection's statistics of it (one
 * event), its decision's name into *decision (NULL when there was none: failed). */
os_rd_outcome_t os_rd_classify(const os_proj_stats_t *st, const char **decision);

/* Redrives what rq names into *out (free with os_ops_redrive_free). OS_OPS_INVALID for an
 * empty or oversized list, an unknown partition; OS_OPS_UNAVAILABLE when the dead-letter
 * topic could not be read. Records that fail are outcomes, not errors. */
os_ops_rc_t os_ops_redrive(const os_ops_t *o, const os_ops_redrive_req_t *rq, os_ops_redrive_t *out,
                           char *err, size_t errlen);

/* Frees out's results. NULL-safe. */
void os_ops_redrive_free(os_ops_redrive_t *out);

#endif
