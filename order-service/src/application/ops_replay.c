/* ops_replay.c — status, pause, resume and replay from a point. See ops_replay.h. */
#include "application/ops_replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timetext.h"

static int os_ops_timeout(const os_ops_t *o)
{
    return o->timeout_ms > 0 ? o->timeout_ms : 10000;
}

void os_ops_declare_metrics(const os_ops_t *o)
{
    if (o->metrics == NULL)
        return;
    metrics_declare(
        o->metrics, "order_admin_actions_total", METRICS_COUNTER,
        "Operations API actions (pause, resume, replay, dlq-list, dlq-redrive, reconciliation-run, "
        "reconciliation-repair), by result.",
        NULL, 0);
    metrics_declare(o->metrics, "order_dlq_redrive_records_total", METRICS_COUNTER,
                    "Dead-letter records handled by a redrive, by outcome (applied, skipped, "
                    "already-handled, failed).",
                    NULL, 0);
}

void os_ops_count(const os_ops_t *o, const char *action, int ok)
{
    char lab[96];
    if (o->metrics == NULL)
        return;
    snprintf(lab, sizeof lab, "action=\"%s\",result=\"%s\"", action, ok ? "ok" : "failed");
    metrics_add(o->metrics, "order_admin_actions_total", lab, 1);
}

os_ops_rc_t os_ops_status(const os_ops_t *o, os_ops_status_t *out, char *err, size_t errlen)
{
    os_stored_pos_t *st = calloc(OS_OPS_MAX_PARTS, sizeof *st);
    os_part_info_t *pi = calloc(OS_OPS_MAX_PARTS, sizeof *pi);
    size_t nst = 0;
    os_ops_rc_t rc = OS_OPS_UNAVAILABLE;
    memset(out, 0, sizeof *out);
    if (st == NULL || pi == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    o->proj.state(o->proj.self, &out->proj);
    if (o->db.positions(o->db.self, o->topic, st, OS_OPS_MAX_PARTS, &nst, err, errlen) != 0 ||
        o->db.recent_moves(o->db.self, o->topic, out->moves, OS_OPS_MOVES_SHOWN, &out->nmoves, err, errlen) !=
            0)
        goto cleanup;
    char kerr[256] = "";
    int npi = o->kafka.describe(o->kafka.self, o->topic, pi, OS_OPS_MAX_PARTS, os_ops_timeout(o), kerr,
                                sizeof kerr);
    if (npi < 0) {
        snprintf(out->kafka_error, sizeof out->kafka_error, "%s", kerr);
        npi = 0;
        for (size_t i = 0; i < nst; i++) /* the stored positions alone */
            pi[npi++] = (os_part_info_t){st[i].partition, -1, -1, -1};
    }
    for (int i = 0; i < npi; i++) {
        os_ops_part_t *p = &out->parts[out->nparts++];
        p->partition = pi[i].partition;
        p->leader = pi[i].leader;
        p->low = pi[i].low;
        p->high = pi[i].high;
        p->position = -1;
        for (size_t k = 0; k < nst; k++)
            if (st[k].partition == p->partition) {
                p->position = st[k].next_offset;
                p->epoch = st[k].epoch;
                snprintf(p->updated_at, sizeof p->updated_at, "%s", st[k].updated_at);
            }
        int64_t from = p->position >= 0 ? p->position : p->low;
        p->lag = p->high >= 0 && from >= 0 ? (p->high > from ? p->high - from : 0) : -1;
        for (size_t k = 0; k < out->proj.nassigned; k++)
            if (out->proj.assigned[k] == p->partition)
                p->here = 1;
    }
    rc = OS_OPS_OK;
cleanup:
    free(st);
    free(pi);
    return rc;
}

os_ops_rc_t os_ops_pause(const os_ops_t *o, int on, char *err, size_t errlen)
{
    const char *what = on ? "pause" : "resume";
    if (o->proj.set_paused(o->proj.self, on, os_ops_timeout(o), err, errlen) != 0) {
        clog_warn(o->log, "operations: %s of the projection failed: %s", what, err);
        os_ops_count(o, what, 0);
        return OS_OPS_UNAVAILABLE;
    }
    clog_ev(o->log, CLOG_INFO, json_pack("{s:s}", "action", what), "operations: projection %s",
            on ? "paused" : "resumed");
    os_ops_count(o, what, 1);
    return OS_OPS_OK;
}

/* The targets of the request into mv (partitions and offsets). */
static os_ops_rc_t os_ops_targets(const os_ops_t *o, const os_replay_req_t *rq, const os_part_info_t *pi,
                                  int npi, os_move_t *mv, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (rq->nparts == 0) {
        for (int i = 0; i < npi; i++)
            mv[(*n)++] = (os_move_t){pi[i].partition, 0, -1, 0};
    } else {
        for (size_t k = 0; k < rq->nparts; k++) {
            int found = 0;
            for (int i = 0; i < npi; i++)
                found = found || pi[i].partition == rq->parts[k];
            if (!found) {
                snprintf(err, errlen, "topic %s has no partition %d (it has %d)", o->topic, (int)rq->parts[k],
                         npi);
                return OS_OPS_INVALID;
            }
            for (size_t j = 0; j < *n; j++)
                if (mv[j].partition == rq->parts[k]) {
                    snprintf(err, errlen, "partition %d is named twice", (int)rq->parts[k]);
                    return OS_OPS_INVALID;
                }
            mv[(*n)++] = (os_move_t){rq->parts[k], 0, -1, 0};
        }
    }
    if (*n == 0) {
        snprintf(err, errlen, "topic %s has no partitions", o->topic);
        return OS_OPS_UNAVAILABLE;
    }
    int32_t parts[OS_OPS_MAX_PARTS];
    int64_t at[OS_OPS_MAX_PARTS];
    for (size_t j = 0; j < *n; j++)
        parts[j] = mv[j].partition;
    if (rq->kind == OS_REPLAY_TIMESTAMP &&
        o->kafka.offsets_for_time(o->kafka.self, o->topic, parts, *n, rq->value, at, os_ops_timeout(o), err,
                                  errlen) != 0)
        return OS_OPS_UNAVAILABLE;
    for (size_t j = 0; j < *n; j++) {
        const os_part_info_t *p = NULL;
        for (int i = 0; i < npi; i++)
            if (pi[i].partition == mv[j].partition)
                p = &pi[i];
        if (p->low < 0 || p->high < 0) {
            snprintf(err, errlen, "the watermarks of %s[%d] are unknown (its leader did not answer)",
                     o->topic, (int)p->partition);
            return OS_OPS_UNAVAILABLE;
        }
        if (rq->kind == OS_REPLAY_BEGINNING) {
            mv[j].to = p->low;
        } else if (rq->kind == OS_REPLAY_TIMESTAMP) {
            mv[j].to = at[j] < p->low ? p->low : at[j];
        } else {
            if (rq->value < p->low || rq->value > p->high) {
                snprintf(err, errlen,
                         "offset %" PRId64 " is outside the log of %s[%d]: its records are %" PRId64
                         "..%" PRId64 " (the next one written gets %" PRId64 ")",
                         rq->value, o->topic, (int)p->partition, p->low, p->high - 1, p->high);
                return OS_OPS_INVALID;
            }
            mv[j].to = rq->value;
        }
    }
    return OS_OPS_OK;
}

os_ops_rc_t os_ops_replay(const os_ops_t *o, const os_replay_req_t *rq, os_move_t *out, size_t *n, char *err,
                          size_t errlen)
{
    os_part_info_t *pi = calloc(OS_OPS_MAX_PARTS, sizeof *pi);
    char request[256], ts[TIMETEXT_LEN + 1];
    os_ops_rc_t rc = OS_OPS_UNAVAILABLE;
    *n = 0;
    if (pi == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (rq->kind == OS_REPLAY_OFFSET && rq->value < 0) {
        snprintf(err, errlen, "an offset is ≥ 0");
        rc = OS_OPS_INVALID;
        goto cleanup;
    }
    int npi =
        o->kafka.describe(o->kafka.self, o->topic, pi, OS_OPS_MAX_PARTS, os_ops_timeout(o), err, errlen);
    if (npi < 0)
        goto cleanup;
    rc = os_ops_targets(o, rq, pi, npi, out, n, err, errlen);
    if (rc != OS_OPS_OK)
        goto cleanup;
    if (rq->kind == OS_REPLAY_BEGINNING)
        snprintf(request, sizeof request, "beginning");
    else if (rq->kind == OS_REPLAY_OFFSET)
        snprintf(request, sizeof request, "offset %" PRId64, rq->value);
    else {
        timetext_format(rq->value, ts);
        snprintf(request, sizeof request, "timestamp %s", ts);
    }
    if (rq->requester != NULL && rq->requester[0] != '\0') {
        size_t l = strlen(request);
        snprintf(request + l, sizeof request - l, " (%s)", rq->requester);
    }
    if (o->proj.move(o->proj.self, out, *n, request, os_ops_timeout(o), err, errlen) != 0) {
        rc = OS_OPS_UNAVAILABLE;
        goto cleanup;
    }
    clog_ev(o->log, CLOG_INFO,
            json_pack("{s:s,s:s,s:i}", "action", "replay", "request", request, "partitions", (int)*n),
            "operations: replay from %s on %zu partition(s) of %s", request, *n, o->topic);
    rc = OS_OPS_OK;
cleanup:
    if (rc != OS_OPS_OK && rc != OS_OPS_INVALID)
        clog_warn(o->log, "operations: replay failed: %s", err);
    os_ops_count(o, "replay", rc == OS_OPS_OK);
    free(pi);
    return rc;
}
