/* ops_dlq.c — listing the dead-letter topic for the operations API. See ops_dlq.h. */
#include "application/ops_dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static int os_dlq_match(const os_ops_dlq_req_t *rq, const os_dlq_rec_t *r)
{
    return (rq->reason == NULL || strcmp(rq->reason, r->reason) == 0) &&
           (rq->key == NULL || strcmp(rq->key, r->key) == 0);
}

/* The partition after p in out->parts, or -1. */
static int32_t os_dlq_next_part(const os_ops_dlq_t *out, int32_t p)
{
    int32_t best = -1;
    for (size_t i = 0; i < out->nparts; i++)
        if (out->parts[i].partition > p && (best < 0 || out->parts[i].partition < best))
            best = out->parts[i].partition;
    return best;
}

/* Reads chunk after chunk into `chunk`, keeping the matching records: 0 or -1 (err set). */
static int os_dlq_scan(const os_ops_t *o, const os_ops_dlq_req_t *rq, os_ops_dlq_t *out, os_dlq_rec_t *chunk,
                       char *err, size_t errlen)
{
    int32_t p = rq->partition;
    int64_t at = rq->offset;
    for (int first = 1;; first = 0) {
        size_t k = 0;
        int more = 0;
        if (o->dlq.read(o->dlq.self, p, at, chunk, rq->limit, &k, &more, first ? out->parts : NULL,
                        first ? &out->nparts : NULL, err, errlen) != 0)
            return -1;
        for (size_t i = 0; i < k; i++) {
            if (out->n == rq->limit || out->scanned == OS_OPS_DLQ_SCAN_MAX) {
                out->more = 1, out->next_partition = chunk[i].partition, out->next_offset = chunk[i].offset;
                return 0;
            }
            out->scanned++;
            if (os_dlq_match(rq, &chunk[i]))
                out->recs[out->n++] = chunk[i];
        }
        if (more && k > 0) { /* this partition goes on after the chunk's last record */
            p = chunk[k - 1].partition, at = chunk[k - 1].offset + 1;
            continue;
        }
        if (rq->partition >= 0 || p < 0) /* the asked partition, or every one, read to its end */
            return 0;
        if ((p = os_dlq_next_part(out, p)) < 0)
            return 0;
        at = rq->offset;
    }
}

os_ops_rc_t os_ops_dlq_read(const os_ops_t *o, const os_ops_dlq_req_t *rq, os_ops_dlq_t *out, char *err,
                            size_t errlen)
{
    os_dlq_rec_t *chunk = NULL;
    os_ops_rc_t rc = OS_OPS_UNAVAILABLE;
    memset(out, 0, sizeof *out);
    if (rq->limit < 1 || rq->limit > OS_OPS_DLQ_LIMIT_MAX || rq->offset < 0) {
        snprintf(err, errlen, "limit must be 1..%d and offset ≥ 0", OS_OPS_DLQ_LIMIT_MAX);
        return OS_OPS_INVALID;
    }
    if (o->dlq.read == NULL) {
        snprintf(err, errlen, "the dead-letter topic cannot be read by this instance");
        return OS_OPS_UNAVAILABLE;
    }
    out->recs = calloc(rq->limit, sizeof *out->recs);
    chunk = calloc(rq->limit, sizeof *chunk);
    if (out->recs == NULL || chunk == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (os_dlq_scan(o, rq, out, chunk, err, errlen) != 0)
        goto cleanup;
    if (rq->partition >= 0) {
        int found = 0;
        for (size_t i = 0; i < out->nparts; i++)
            found |= out->parts[i].partition == rq->partition;
        if (!found) {
            snprintf(err, errlen, "the dead-letter topic %s has no partition %d (it has %zu)", o->dlq_topic,
                     (int)rq->partition, out->nparts);
            rc = OS_OPS_INVALID;
            goto cleanup;
        }
    }
    rc = OS_OPS_OK;
cleanup:
    free(chunk);
    if (rc != OS_OPS_OK)
        os_ops_dlq_free(out);
    return rc;
}

os_ops_rc_t os_ops_dlq_list(const os_ops_t *o, const os_ops_dlq_req_t *rq, os_ops_dlq_t *out, char *err,
                            size_t errlen)
{
    os_ops_rc_t rc = os_ops_dlq_read(o, rq, out, err, errlen);
    if (rc == OS_OPS_UNAVAILABLE) {
        clog_warn(o->log, "operations: reading the dead-letter topic %s failed: %s", o->dlq_topic, err);
        os_ops_count(o, "dlq-list", 0);
    }
    if (rc != OS_OPS_OK)
        return rc;
    clog_ev(o->log, CLOG_INFO,
            json_pack("{s:s,s:i,s:I,s:I,s:I}", "action", "dlq-list", "partition", (int)rq->partition,
                      "offset", (json_int_t)rq->offset, "scanned", (json_int_t)out->scanned, "records",
                      (json_int_t)out->n),
            "operations: %zu dead-letter record(s) of %s listed (%zu looked at)", out->n, o->dlq_topic,
            out->scanned);
    os_ops_count(o, "dlq-list", 1);
    return OS_OPS_OK;
}

void os_ops_dlq_free(os_ops_dlq_t *out)
{
    if (out == NULL)
        return;
    free(out->recs);
    out->recs = NULL;
    out->n = 0;
}
