/* outbox_relay_pump.c — the leader's publishing pipeline: read unpublished outbox rows,
 * produce them at once, and mark them published as their delivery reports come in.
 *
 * The relay reads and produces as soon as it is woken (NOTIFY) when nothing is in flight,
 * and otherwise as soon as the last delivery report of the batch in flight arrives (natural
 * batching: under load what committed meanwhile goes out as one batch). Marking is off the
 * latency path: the delivered rows are marked in one UPDATE per pass, after the next read.
 * The guarantees are unchanged:
 * - a row is marked only after ITS delivery report succeeded;
 * - rows are produced in id order, each exactly once while it is in the pipeline (a read
 *   excludes the ids in flight), through the one idempotent producer: per partition no
 *   reordering, no duplicates;
 * - a failed delivery stops the pipeline: the caller drains it, marks what was delivered and
 *   backs off; the failed rows stay unpublished and are read again.
 */
#include "messaging/outbox_relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int relay_pump_init(outbox_relay_t *r)
{
    int n = r->o.batch_size;
    r->slots = calloc((size_t)n, sizeof *r->slots);
    r->free_idx = calloc((size_t)n, sizeof *r->free_idx);
    r->ids = calloc((size_t)n, sizeof *r->ids);
    if (r->slots == NULL || r->free_idx == NULL || r->ids == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        r->free_idx[i] = n - 1 - i;
    r->n_free = n;
    return 0;
}

void relay_pump_free(outbox_relay_t *r)
{
    free(r->slots);
    free(r->free_idx);
    free(r->ids);
    r->slots = NULL;
    r->free_idx = NULL;
    r->ids = NULL;
}

/* Delivery reports are served by rd_kafka_poll/flush on the relay thread (or in
 * outbox_relay_free after it ended): no locking needed. */
void relay_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    outbox_relay_t *r = kfk_user(rk);
    relay_slot_t *s = m->_private;
    (void)opaque;
    if (r == NULL || s == NULL || s->state != SLOT_INFLIGHT)
        return;
    r->inflight--;
    if (m->err) {
        s->state = SLOT_FAILED;
        r->failed++;
        metrics_add(r->m, "customer_outbox_publish_errors_total", NULL, 1);
        clog_warn(r->log, "outbox row %lld not delivered: %s", s->id, rd_kafka_err2str(m->err));
    } else {
        s->state = SLOT_DELIVERED;
        r->delivered++;
        metrics_observe(r->m, "customer_outbox_publish_latency_seconds", NULL,
                        (double)(svc_wall_ms() - s->occurred_ms) / 1000.0);
    }
}

int relay_mark(outbox_relay_t *r, const long long *ids, int n)
{
    char err[512];
    if (n == 0)
        return 0;
    if (r->store.ops->mark(r->store.self, ids, n, err, sizeof err) == 0)
        return 0;
    clog_error(r->log, "outbox relay: %s", err);
    return -1;
}

/* Produces `row` into slot s. Returns librdkafka's result (QUEUE_FULL handled). */
static rd_kafka_resp_err_t relay_produce(outbox_relay_t *r, const outbox_row_t *row, relay_slot_t *s)
{
    char idtxt[24];
    rd_kafka_resp_err_t e;
    snprintf(idtxt, sizeof idtxt, "%lld", s->id);
    for (;;) {
        e = rd_kafka_producev(
            r->rk, RD_KAFKA_V_TOPIC(r->o.topic), RD_KAFKA_V_KEY(row->key, row->key_len),
            RD_KAFKA_V_VALUE((void *)row->payload, row->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADER(RELAY_HEADER, idtxt, -1), RD_KAFKA_V_OPAQUE(s), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return e;
        rd_kafka_poll(r->rk, 50);
    }
}

int relay_fetch(outbox_relay_t *r)
{
    char err[512];
    const outbox_row_t *rows = NULL;
    int n, k = 0;

    if (r->n_free <= 0)
        return 0;
    for (int i = 0; i < r->o.batch_size; i++)
        if (r->slots[i].state != SLOT_FREE)
            r->ids[k++] = r->slots[i].id;
    n = r->store.ops->fetch(r->store.self, r->ids, k, r->n_free, &rows, err, sizeof err);
    if (n < 0) {
        clog_warn(r->log, "outbox relay: %s", err);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        relay_slot_t *s = &r->slots[r->free_idx[r->n_free - 1]];
        rd_kafka_resp_err_t e;
        s->id = rows[i].id;
        s->occurred_ms = rows[i].occurred_ms;
        s->state = SLOT_INFLIGHT;
        e = relay_produce(r, &rows[i], s);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Keep per-key order: nothing after a row that could not be queued. */
            clog_error(r->log, "outbox relay: produce of row %lld failed: %s", s->id, rd_kafka_err2str(e));
            metrics_add(r->m, "customer_outbox_publish_errors_total", NULL, 1);
            s->state = SLOT_FREE;
            return -1;
        }
        r->n_free--;
        r->inflight++;
    }
    return n;
}

int relay_settle(outbox_relay_t *r)
{
    int n = 0, had_failed = r->failed > 0;
    if (r->delivered == 0 && r->failed == 0)
        return 0;
    for (int i = 0; i < r->o.batch_size; i++)
        if (r->slots[i].state == SLOT_DELIVERED)
            r->ids[n++] = r->slots[i].id;
    if (n > 0 && relay_mark(r, r->ids, n) != 0)
        return -1;
    relay_forget(r); /* frees the delivered (now marked) and the failed slots */
    atomic_fetch_add(&r->published, n);
    metrics_add(r->m, "customer_outbox_published_total", NULL, n);
    return had_failed ? 1 : 0;
}

void relay_drain(outbox_relay_t *r)
{
    relay_drain_until(r, 0);
}

void relay_drain_until(outbox_relay_t *r, long long until)
{
    /* With unlimited retries this takes as long as the broker is away; on stop, in-flight
     * messages get until `until` (or flush_ms), then are purged (their rows stay unpublished). */
    while (r->inflight > 0) {
        rd_kafka_poll(r->rk, 100);
        if (atomic_load(&r->stop)) {
            if (until == 0)
                until = svc_mono_ms() + r->o.flush_ms;
            else if (svc_mono_ms() > until) {
                rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
                while (r->inflight > 0)
                    rd_kafka_poll(r->rk, 100);
            }
        }
    }
}

void relay_forget(outbox_relay_t *r)
{
    for (int i = 0; i < r->o.batch_size; i++) {
        relay_slot_t *s = &r->slots[i];
        if (s->state == SLOT_DELIVERED || s->state == SLOT_FAILED) {
            s->state = SLOT_FREE;
            r->free_idx[r->n_free++] = i;
        }
    }
    r->delivered = 0;
    r->failed = 0;
}
