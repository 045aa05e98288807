/* projector_dlq.c — the projection's dead-letter side: the DLQ producer's delivery reports,
 * sending poison messages (with the dlq.* headers) and waiting for the broker's acks, and
 * the fallback after max_retries that applies a batch one event per transaction and
 * dead-letters the event that still fails ("apply-failed"). See projector.h. Called by
 * projector.c; calls nothing of it.
 */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void os_dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    os_projector_t *p = kfk_user(rk);
    (void)opaque;
    if (m->err) {
        atomic_fetch_add(&p->dlq_failed, 1);
        clog_error(p->o.log, "projection: dead-letter delivery failed: %s", rd_kafka_err2str(m->err));
    }
}

/* Sends `n` poison entries to the DLQ and waits for the broker's acks. 0 or -1. */
int os_dlq_send(os_projector_t *p, const os_poison_t *list, size_t n)
{
    atomic_store(&p->dlq_failed, 0);
    for (size_t i = 0; i < n; i++) {
        const os_poison_t *x = &list[i];
        const rd_kafka_message_t *m = x->msg;
        char part[16], off[32];
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%" PRId64, m->offset);
        rd_kafka_headers_t *h = rd_kafka_headers_new(5);
        rd_kafka_header_add(h, "dlq.reason", -1, x->reason, -1);
        rd_kafka_header_add(h, "dlq.detail", -1, x->detail, -1);
        rd_kafka_header_add(h, "dlq.source.topic", -1, rd_kafka_topic_name(m->rkt), -1);
        rd_kafka_header_add(h, "dlq.source.partition", -1, part, -1);
        rd_kafka_header_add(h, "dlq.source.offset", -1, off, -1);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->producer, RD_KAFKA_V_TOPIC(p->o.dlq_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e) {
            rd_kafka_headers_destroy(h);
            clog_error(p->o.log, "projection: dead-letter produce failed: %s", rd_kafka_err2str(e));
            return -1;
        }
        clog_ev(p->o.log, CLOG_WARN,
                json_pack("{s:s,s:s,s:i,s:I}", "reason", x->reason, "detail", x->detail, "partition",
                          (int)m->partition, "offset", (json_int_t)m->offset),
                "projection: message sent to %s", p->o.dlq_topic);
        if (p->o.metrics) {
            char lab[64];
            snprintf(lab, sizeof lab, "reason=\"%s\"", x->reason);
            metrics_add(p->o.metrics, "order_projection_dlq_total", lab, 1);
        }
    }
    /* Wait for the acks (≤ 30 s) in slices so that a stop request is not held up by an
     * unreachable broker: an unacknowledged batch is not committed and is read again. */
    for (int waited = 0; n > 0; waited += 200) {
        if (rd_kafka_flush(p->producer, 200) == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (waited >= 30000 || atomic_load(&p->stop)) {
            clog_warn(p->o.log, "projection: dead-letter messages not acknowledged%s; batch not committed",
                      atomic_load(&p->stop) ? " before stop" : " within 30 s");
            return -1;
        }
    }
    return atomic_load(&p->dlq_failed) ? -1 : 0;
}

/* 1 when PostgreSQL answers (so a failing batch is about its data, not an outage). */
int os_dlq_db_up(os_projector_t *p)
{
    if (PQstatus(p->pg) != CONNECTION_OK) {
        PQreset(p->pg);
        p->resync = 1; /* maybe another server now: re-read the position before any batch */
        return 0;
    }
    PGresult *r = PQexec(p->pg, "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* After max_retries: one transaction per message; an event that fails alone (with the
 * database up) is dead-lettered and its offset stored. Returns 0 when the whole batch is
 * settled, -1 when the database went away (retry later). `st` accumulates. */
int os_dlq_apply_one_by_one(os_projector_t *p, const os_batch_t *b, os_proj_stats_t *st)
{
    char err[1024];
    os_projstore_port_t port = os_pgproj_port(&p->store);
    size_t ev = 0;
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->msgs[i];
        os_offset_t off = {m->partition, m->offset + 1};
        const proj_event_t *e = NULL;
        if (ev < b->nev && b->ev_msg[ev] == i)
            e = &b->events[ev++];
        if (os_projection_apply(&port, p->o.topic, e, e ? 1 : 0, &off, 1, st, err, sizeof err) == 0)
            continue;
        if (!os_dlq_db_up(p))
            return -1;
        os_poison_t x;
        memset(&x, 0, sizeof x);
        x.msg = m;
        x.reason = "apply-failed";
        size_t el = strlen(err) < sizeof x.detail - 1 ? strlen(err) : sizeof x.detail - 1;
        memcpy(x.detail, err, el);
        x.detail[el] = '\0';
        clog_error(p->o.log, "projection: event at %d/%" PRId64 " cannot be applied: %s", (int)m->partition,
                   m->offset, err);
        if (os_dlq_send(p, &x, 1) != 0 ||
            os_projection_apply(&port, p->o.topic, NULL, 0, &off, 1, st, err, sizeof err) != 0)
            return -1;
    }
    return 0;
}
