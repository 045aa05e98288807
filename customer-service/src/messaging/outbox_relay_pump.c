/* outbox_relay_pump.c — the leader's publishing pipeline: read the outbox rows past the
 * position, produce them at once, and store the position (one row) now and then once
 * everything produced is delivered.
 *
 * The relay reads and produces as soon as it is woken (NOTIFY) when nothing is in flight,
 * and otherwise as soon as the last delivery report of the batch in flight arrives (natural
 * batching: under load what committed meanwhile goes out as one batch). No outbox row is
 * written again: the position (outbox_relay_pos.c) says which are on the topic.
 * The guarantees:
 * - the stored position counts a row as published only when ITS delivery report succeeded
 *   and every row produced before it was delivered too (it is stored with nothing in flight);
 * - rows are produced in id order, each exactly once while it is in the pipeline (a read
 *   starts past the position, which counts the rows in flight), through the one idempotent
 *   producer: per partition no reordering, no duplicates;
 * - a failed delivery stops the pipeline: the caller drains it and backs off; the failed
 *   rows are gaps of the position again and are read again;
 * - with standby_flush = N > 0, rows read are produced only once N streaming standbys (or all
 *   that stream, when fewer do) have flushed the primary's log up to the read
 *   (relay_await_standbys): a failover to any of them cannot lose a row already on the topic. Until then
 * nothing is produced and the rows are read again (with whatever committed meanwhile).
 */
#include "messaging/outbox_relay_int.h"

#include <limits.h>
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
        relay_pos_delivered(&r->pos, m->partition, m->offset);
        metrics_observe(r->m, "customer_outbox_publish_latency_seconds", NULL,
                        (double)(svc_wall_ms() - s->occurred_ms) / 1000.0);
    }
}

/* Produces `row` into slot s. Returns librdkafka's result (QUEUE_FULL handled). A row written
 * by a traced request continues its trace: a PRODUCER span "<topic> publish" (a child of the
 * stored traceparent) whose context the record carries in its `traceparent` header. */
static rd_kafka_resp_err_t relay_produce(outbox_relay_t *r, const outbox_row_t *row, relay_slot_t *s)
{
    char idtxt[24], tp[TRC_TRACEPARENT_LEN + 1], name[64];
    rd_kafka_resp_err_t e;
    trc_ctx_t parent;
    trc_span_t span;
    int traced =
        row->traceparent != NULL && trc_parse(row->traceparent, strlen(row->traceparent), &parent) == 0;
    snprintf(idtxt, sizeof idtxt, "%lld", s->id);
    if (traced) {
        snprintf(name, sizeof name, "%s publish", r->o.topic);
        trc_span_start(&span, name, TRC_PRODUCER, &parent);
        trc_span_attr(&span, "messaging.system", "kafka");
        trc_span_attr(&span, "messaging.destination.name", r->o.topic);
        trc_span_attr(&span, "messaging.kafka.message.key", row->key);
        trc_span_attr(&span, "outbox.id", idtxt);
        trc_format(&span.ctx, tp);
        trc_set_current(&span.ctx);
    }
    for (;;) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(2);
        rd_kafka_header_add(h, RELAY_HEADER, -1, idtxt, -1);
        if (traced)
            rd_kafka_header_add(h, "traceparent", -1, tp, -1);
        e = rd_kafka_producev(r->rk, RD_KAFKA_V_TOPIC(r->o.topic), RD_KAFKA_V_KEY(row->key, row->key_len),
                              RD_KAFKA_V_VALUE((void *)row->payload, row->len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE(s), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_headers_destroy(h); /* librdkafka took them only on success */
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(r->rk, 50);
    }
    if (traced) {
        clog_debug(r->log, "outbox row %lld of %s handed to the producer: %s", s->id, row->key,
                   rd_kafka_err2str(e));
        span.error = e != RD_KAFKA_RESP_ERR_NO_ERROR;
        trc_span_end(&span, &r->o.tracer);
        trc_set_current(NULL);
    }
    return e;
}

int relay_pos_load(outbox_relay_t *r)
{
    char err[512];
    outbox_pos_t stored;
    if (r->store.ops->load(r->store.self, &stored, err, sizeof err) != 0) {
        clog_warn(r->log, "outbox relay: %s", err);
        return -1;
    }
    if (stored.topic == NULL || strcmp(stored.topic, r->o.topic) != 0)
        stored.noffsets = 0; /* offsets of another topic: unknown here */
    if (relay_pos_set(&r->pos, &stored) != 0) {
        clog_error(r->log, "outbox relay: out of memory for the stored position");
        return -1;
    }
    r->last_save_ms = svc_mono_ms();
    clog_debug(r->log, "outbox relay: position %lld (top %lld, %d gap(s))", r->pos.upto, r->pos.top,
               r->pos.ngaps);
    return 0;
}

int relay_pos_store(outbox_relay_t *r)
{
    char err[512];
    outbox_pos_t v;
    relay_pos_view(&r->pos, r->o.topic, &v);
    if (r->store.ops->save(r->store.self, &v, err, sizeof err) != 0) {
        clog_error(r->log, "outbox relay: %s", err);
        return -1;
    }
    r->pos.changed = 0;
    r->last_save_ms = svc_mono_ms();
    return 0;
}

void relay_pos_probe(outbox_relay_t *r)
{
    long long now = svc_mono_ms(), x;
    if (!relay_pos_need_probe(&r->pos, now, RELAY_PROBE_AFTER_MS))
        return;
    x = r->store.ops->probe(r->store.self);
    if (x <= 0)
        return; /* the next pass tries again */
    r->pos.probe_xid = x;
    r->pos.probe_ms = now;
    r->dirty = 1; /* the next read settles the old gaps, once every older transaction ended */
    clog_debug(r->log, "outbox relay: %d gap(s) below %lld: probe transaction %lld", r->pos.ngaps, r->pos.top,
               x);
}

/* Waits, polling pg_stat_replication (1 ms, doubling to 32 ms), until o.standby_flush
 * standbys have flushed the log up to the last read: 1 then; 0 when they have not within
 * RELAY_STANDBY_WAIT_MS (a warning every 10 s while that lasts; a stop waits this long too);
 * -1 when the database did not answer (err). */
static int relay_await_standbys(outbox_relay_t *r, char *err, size_t errlen)
{
    long long start = svc_mono_ms(), now;
    long pause = 1;
    for (;;) {
        int rc = r->store.ops->standbys_have(r->store.self, r->o.standby_flush, err, errlen);
        now = svc_mono_ms();
        if (rc > 0)
            metrics_observe(r->m, "customer_outbox_standby_wait_seconds", NULL,
                            (double)(now - start) / 1000.0);
        if (rc != 0) {
            if (rc > 0 && r->held_since > 0 && now - r->held_since >= RELAY_HELD_WARN_MS)
                clog_info(r->log, "outbox relay: publishing again: the standbys caught up after %lld ms",
                          now - r->held_since);
            if (rc > 0)
                r->held_since = 0;
            return rc;
        }
        if (r->held_since == 0)
            r->held_since = start;
        if (now - start >= RELAY_STANDBY_WAIT_MS)
            break;
        svc_sleep_ms(pause);
        if (pause < 32)
            pause *= 2;
    }
    if (now - r->held_since >= RELAY_HELD_WARN_MS && now - r->held_warned >= 10000) {
        clog_warn(r->log, "outbox relay: publishing held for %lld ms (outbox.standby-flush %d): %s",
                  now - r->held_since, r->o.standby_flush, err);
        r->held_warned = now;
    }
    return 0;
}

int relay_fetch(outbox_relay_t *r)
{
    char err[512];
    const outbox_row_t *rows = NULL;
    outbox_pos_t v;
    long long xmin = 0, cut;
    int n, k = 0, rc;

    if (r->n_free <= 0)
        return 0;
    relay_pos_view(&r->pos, r->o.topic, &v);
    n = r->store.ops->fetch(r->store.self, &v, r->n_free, &rows, &xmin, err, sizeof err);
    if (n < 0) {
        clog_warn(r->log, "outbox relay: %s", err);
        return -1;
    }
    if (n > 0 && r->o.standby_flush > 0) {
        int ok = relay_await_standbys(r, err, sizeof err);
        if (ok < 0) {
            clog_warn(r->log, "outbox relay: %s", err);
            return -1;
        }
        if (ok == 0) {
            r->dirty = 1; /* read again at the next pass (relay_await_standbys has waited) */
            return 0;
        }
    }
    cut = n < r->n_free ? LLONG_MAX : rows[n - 1].id;
    rc = n;
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
            cut = rows[i].id;
            rc = -1;
            break;
        }
        r->ids[k++] = rows[i].id;
        r->n_free--;
        r->inflight++;
    }
    if (relay_pos_seen(&r->pos, r->ids, k, svc_mono_ms()) != 0) {
        clog_error(r->log, "outbox relay: out of memory for the position");
        return -1;
    }
    if (relay_pos_resolve(&r->pos, xmin, cut))
        clog_debug(r->log, "outbox relay: gaps below the probe closed: position %lld (top %lld, %d gap(s))",
                   r->pos.upto, r->pos.top, r->pos.ngaps);
    return rc;
}

/* Frees the slots of delivered and failed rows. */
static void relay_free_slots(outbox_relay_t *r)
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

int relay_settle(outbox_relay_t *r, int force)
{
    int n = 0, had_failed = r->failed > 0;
    if (r->delivered > 0 || r->failed > 0) {
        for (int i = 0; i < r->o.batch_size; i++) {
            if (r->slots[i].state == SLOT_DELIVERED)
                n++;
            else if (r->slots[i].state == SLOT_FAILED &&
                     relay_pos_unsee(&r->pos, r->slots[i].id, svc_mono_ms()) != 0)
                return -1; /* out of memory: as a lost session, the next leader starts from what is stored */
        }
        relay_free_slots(r);
        atomic_fetch_add(&r->published, n);
        metrics_add(r->m, "customer_outbox_published_total", NULL, n);
    }
    if (r->inflight == 0 && r->pos.changed && (force || svc_mono_ms() - r->last_save_ms >= RELAY_SAVE_MS) &&
        relay_pos_store(r) != 0)
        return -1;
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
    relay_free_slots(r);
    relay_pos_free(&r->pos);
}
