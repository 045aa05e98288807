/* ops_redrive.c — dead letters applied again through the projection. See ops_redrive.h. */
#include "application/ops_redrive.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "application/ops_dlq.h"
#include "application/projection_svc.h"

#define OS_RD_PAGE 100 /* records read from the dead-letter topic per listing */

const char *os_rd_outcome_name(os_rd_outcome_t o)
{
    static const char *const names[] = {"applied", "skipped", "already-handled", "failed"};
    return o <= OS_RD_FAILED ? names[o] : "failed";
}

os_rd_outcome_t os_rd_classify(const os_proj_stats_t *st, const char **decision)
{
    if (st->inserted > 0)
        return *decision = proj_decision_name(PROJ_INSERT), OS_RD_APPLIED;
    if (st->updated > 0)
        return *decision = proj_decision_name(PROJ_UPDATE), OS_RD_APPLIED;
    if (st->deleted > 0)
        return *decision = proj_decision_name(PROJ_DELETE), OS_RD_APPLIED;
    if (st->skipped_absent > 0)
        return *decision = proj_decision_name(PROJ_SKIP_ABSENT), OS_RD_SKIPPED;
    if (st->skipped_stale > 0)
        return *decision = proj_decision_name(PROJ_SKIP_STALE), OS_RD_SKIPPED;
    *decision = NULL;
    return OS_RD_FAILED; /* the projection decided nothing about it */
}

/* Applies the decoded record `r` in a transaction of its own that also records it; fills
 * res->outcome/decision/detail. */
static void os_rd_apply(const os_ops_t *o, const os_dlq_rec_t *r, os_rd_result_t *res)
{
    const os_redrive_store_port_t *st = &o->redrive;
    char err[400] = "", prev[300] = "";
    os_proj_stats_t stats;
    memset(&stats, 0, sizeof stats);
    res->outcome = OS_RD_FAILED;
    void *tx = st->begin(st->self, err, sizeof err);
    if (tx == NULL)
        goto fail;
    int c = st->claim(tx, o->dlq_topic, r->partition, r->offset, prev, sizeof prev, err, sizeof err);
    if (c < 0)
        goto fail;
    if (c == 0) {
        st->rollback(tx);
        res->outcome = OS_RD_ALREADY;
        snprintf(res->detail, sizeof res->detail, "handled by an earlier redrive: %s", prev);
        return;
    }
    proj_event_t ev = {r->id,         r->tombstone, r->version,       r->username,
                       r->first_name, r->last_name, r->occurred_at_ms};
    os_projstore_port_t store = st->store(tx);
    if (os_projection_apply(&store, o->topic, &ev, 1, NULL, 0, &stats, err, sizeof err) != 0)
        goto fail;
    res->outcome = os_rd_classify(&stats, &res->decision);
    if (res->outcome == OS_RD_FAILED) {
        snprintf(err, sizeof err, "the projection decided nothing about it");
        goto fail;
    }
    if (res->outcome == OS_RD_SKIPPED)
        snprintf(res->detail, sizeof res->detail, "%s",
                 r->tombstone ? "a deletion of a customer the read model does not have"
                              : "the read model already has this version of the customer or a newer one");
    if (st->record(tx, o->dlq_topic, r->partition, r->offset, r->id, r->tombstone ? 0 : r->version,
                   os_rd_outcome_name(res->outcome), res->decision, err, sizeof err) != 0)
        goto fail;
    if (st->commit(tx, err, sizeof err) != 0) {
        tx = NULL;
        goto fail;
    }
    return;
fail:
    if (tx != NULL)
        st->rollback(tx);
    res->outcome = OS_RD_FAILED;
    res->decision = NULL;
    snprintf(res->detail, sizeof res->detail, "not applied: %.380s", err);
}

/* Counts, measures and logs the outcome res (the last of out). */
static void os_rd_note(const os_ops_t *o, const os_rd_result_t *res, os_ops_redrive_t *out)
{
    out->counts[res->outcome]++;
    if (o->metrics != NULL) {
        char lab[64];
        snprintf(lab, sizeof lab, "outcome=\"%s\"", os_rd_outcome_name(res->outcome));
        metrics_add(o->metrics, "order_dlq_redrive_records_total", lab, 1);
    }
    clog_ev(o->log, res->outcome == OS_RD_FAILED ? CLOG_WARN : CLOG_INFO,
            json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s?,s:s}", "action", "dlq-redrive", "dlqTopic", o->dlq_topic,
                      "partition", (int)res->partition, "offset", (json_int_t)res->offset, "key", res->key,
                      "outcome", os_rd_outcome_name(res->outcome), "decision", res->decision, "detail",
                      res->detail),
            "operations: dead letter %s[%d]@%" PRId64 " (key %s) %s%s%s", o->dlq_topic, (int)res->partition,
            res->offset, res->key, os_rd_outcome_name(res->outcome), res->detail[0] ? ": " : "", res->detail);
}

/* Handles one record of the dead-letter topic into the next result of out. */
static void os_rd_one(const os_ops_t *o, const os_dlq_rec_t *r, os_ops_redrive_t *out)
{
    os_rd_result_t *res = &out->res[out->n++];
    memset(res, 0, sizeof *res);
    res->partition = r->partition, res->offset = r->offset;
    snprintf(res->key, sizeof res->key, "%s", r->key);
    snprintf(res->reason, sizeof res->reason, "%s", r->reason);
    snprintf(res->src_topic, sizeof res->src_topic, "%s", r->src_topic);
    res->src_partition = r->src_partition, res->src_offset = r->src_offset;
    res->tombstone = r->tombstone;
    if (!r->ok) {
        res->outcome = OS_RD_FAILED;
        snprintf(res->detail, sizeof res->detail, "it still cannot be applied: %s", r->error);
    } else if (r->src_topic[0] != '\0' && strcmp(r->src_topic, o->topic) != 0) {
        res->outcome = OS_RD_FAILED;
        snprintf(res->detail, sizeof res->detail, "it came from topic %s, not from %s (the projected one)",
                 r->src_topic, o->topic);
    } else {
        snprintf(res->id, sizeof res->id, "%s", r->id);
        res->version = r->tombstone ? 0 : r->version;
        os_rd_apply(o, r, res);
    }
    os_rd_note(o, res, out);
}

/* The named records, each looked up by a listing of one record at its offset. */
static os_ops_rc_t os_rd_named(const os_ops_t *o, const os_ops_redrive_req_t *rq, os_ops_redrive_t *out,
                               os_ops_dlq_t *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < rq->nrecs; i++) {
        const os_dlq_pos_t *p = &rq->recs[i];
        os_ops_dlq_req_t lr = {p->partition, p->offset, 1, NULL, NULL};
        os_ops_rc_t rc = os_ops_dlq_read(o, &lr, d, err, errlen);
        if (rc == OS_OPS_OK && d->n == 1 && d->recs[0].offset == p->offset) {
            os_rd_one(o, &d->recs[0], out);
            os_ops_dlq_free(d);
            continue;
        }
        if (rc == OS_OPS_UNAVAILABLE)
            return rc;
        os_rd_result_t *res = &out->res[out->n++];
        memset(res, 0, sizeof *res);
        res->partition = p->partition, res->offset = p->offset, res->outcome = OS_RD_FAILED;
        if (rc == OS_OPS_OK)
            snprintf(res->detail, sizeof res->detail, "%s[%d] has no record at offset %" PRId64, o->dlq_topic,
                     (int)p->partition, p->offset);
        else
            snprintf(res->detail, sizeof res->detail, "%s", err);
        os_rd_note(o, res, out);
        os_ops_dlq_free(d);
    }
    return OS_OPS_OK;
}

/* The partition after p among d's, or -1. */
static int32_t os_rd_next_part(const os_ops_dlq_t *d, int32_t p)
{
    int32_t best = -1;
    for (size_t i = 0; i < d->nparts; i++)
        if (d->parts[i].partition > p && (best < 0 || d->parts[i].partition < best))
            best = d->parts[i].partition;
    return best;
}

/* Every record matching the filters, partition by partition, page by page. */
static os_ops_rc_t os_rd_scan(const os_ops_t *o, const os_ops_redrive_req_t *rq, os_ops_redrive_t *out,
                              os_ops_dlq_t *d, char *err, size_t errlen)
{
    int32_t p = rq->partition >= 0 ? rq->partition : rq->from.partition;
    int64_t at = rq->from.offset;
    for (;;) {
        os_ops_dlq_req_t lr = {p, at, OS_RD_PAGE, rq->reason, rq->key};
        os_ops_rc_t rc = os_ops_dlq_read(o, &lr, d, err, errlen);
        if (rc != OS_OPS_OK) {
            if (out->n == 0)
                return rc;
            out->more = 1, out->next = (os_dlq_pos_t){p, at}; /* stopped here: go on from here */
            return OS_OPS_OK;
        }
        for (size_t i = 0; i < d->n; i++) {
            if (out->n == OS_OPS_REDRIVE_MAX) {
                out->more = 1, out->next = (os_dlq_pos_t){d->recs[i].partition, d->recs[i].offset};
                os_ops_dlq_free(d);
                return OS_OPS_OK;
            }
            os_rd_one(o, &d->recs[i], out);
        }
        int more = d->more;
        at = d->next_offset;
        os_ops_dlq_free(d);
        if (more)
            continue;
        if (rq->partition >= 0 || (p = os_rd_next_part(d, p)) < 0)
            return OS_OPS_OK;
        at = 0;
    }
}

os_ops_rc_t os_ops_redrive(const os_ops_t *o, const os_ops_redrive_req_t *rq, os_ops_redrive_t *out,
                           char *err, size_t errlen)
{
    os_ops_dlq_t *d = NULL;
    os_ops_rc_t rc = OS_OPS_UNAVAILABLE;
    memset(out, 0, sizeof *out);
    if (rq->recs != NULL && (rq->nrecs == 0 || rq->nrecs > OS_OPS_REDRIVE_RECORDS)) {
        snprintf(err, errlen, "name 1..%d records per request", OS_OPS_REDRIVE_RECORDS);
        return OS_OPS_INVALID;
    }
    if (o->redrive.begin == NULL || o->dlq.read == NULL) {
        snprintf(err, errlen, "dead letters cannot be redriven by this instance");
        return OS_OPS_UNAVAILABLE;
    }
    out->res = calloc(rq->recs != NULL ? rq->nrecs : OS_OPS_REDRIVE_MAX, sizeof *out->res);
    d = malloc(sizeof *d);
    if (out->res == NULL || d == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    rc = rq->recs != NULL ? os_rd_named(o, rq, out, d, err, errlen) : os_rd_scan(o, rq, out, d, err, errlen);
    if (rc != OS_OPS_OK) {
        os_ops_count(o, "dlq-redrive", 0);
        goto cleanup;
    }
    clog_ev(o->log, CLOG_INFO,
            json_pack("{s:s,s:s?,s:s?,s:I,s:I,s:I,s:I,s:b}", "action", "dlq-redrive", "reason", rq->reason,
                      "key", rq->key, "applied", (json_int_t)out->counts[OS_RD_APPLIED], "skipped",
                      (json_int_t)out->counts[OS_RD_SKIPPED], "alreadyHandled",
                      (json_int_t)out->counts[OS_RD_ALREADY], "failed", (json_int_t)out->counts[OS_RD_FAILED],
                      "more", out->more),
            "operations: redrive of %s: %zu applied, %zu skipped, %zu already handled, %zu failed%s",
            o->dlq_topic, out->counts[OS_RD_APPLIED], out->counts[OS_RD_SKIPPED], out->counts[OS_RD_ALREADY],
            out->counts[OS_RD_FAILED], out->more ? " (more left)" : "");
    os_ops_count(o, "dlq-redrive", 1);
cleanup:
    free(d);
    if (rc != OS_OPS_OK)
        os_ops_redrive_free(out);
    return rc;
}

void os_ops_redrive_free(os_ops_redrive_t *out)
{
    if (out == NULL)
        return;
    free(out->res);
    out->res = NULL;
    out->n = 0;
}
