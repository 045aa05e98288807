/* projector_loop.c — one step of the live projection's loop: re-read the position from the
 * stored offsets when it is in doubt (os_resync), collect a batch (os_collect), decode it,
 * dead-letter its poison, apply it in one transaction and do the Kafka-side bookkeeping
 * (os_after_commit), or roll back, pause and retry. Rebalances come in through the
 * consumer's listener (os_on_assigned, os_on_revoked). Everything it touches is a port (see
 * projector.h), so the unit tests drive it with fakes. See projector_int.h.
 */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "svc.h"

/* A rebalance assigned partitions: each starts at its stored offset. The database must
 * answer: retried (stop ends it after a few attempts). */
static void os_on_assigned(void *self, const int32_t *parts, int64_t *from, size_t n)
{
    os_projector_t *p = self;
    os_offset_t *offs = p->offs_buf;
    size_t nst = 0;
    char e[512];
    p->assign_gen++;
    for (int attempt = 0;; attempt++) {
        if (p->w.db.session(p->w.db.self, NULL, 0) >= 0 &&
            p->w.db.load_offsets(p->w.db.self, p->w.topic, offs, OS_MAX_PARTS, &nst, e, sizeof e) == 0)
            break;
        clog_error(p->w.log, "projection: cannot load stored offsets (retrying): %s", e);
        nst = 0;
        if (atomic_load(&p->stop) && attempt > 3)
            break;
        svc_sleep_ms(attempt < 10 ? 200 : 1000);
    }
    for (size_t i = 0; i < n; i++) {
        from[i] = OS_OFFSET_BEGINNING;
        for (size_t k = 0; k < nst; k++)
            if (offs[k].partition == parts[i])
                from[i] = offs[k].next_offset;
        if (from[i] < 0)
            clog_info(p->w.log, "projection: assigned %s[%d] from the beginning (no stored offset)",
                      p->w.topic, (int)parts[i]);
        else
            clog_info(p->w.log, "projection: assigned %s[%d] from stored offset %" PRId64, p->w.topic,
                      (int)parts[i], from[i]);
    }
}

static void os_on_revoked(void *self, size_t n)
{
    os_projector_t *p = self;
    p->assign_gen++;
    clog_info(p->w.log, "projection: %zu partition(s) revoked", n);
}

void os_projector_listen(os_projector_t *p)
{
    p->rebalance = (os_rebalance_t){p, os_on_assigned, os_on_revoked};
}

/* Seeks every assigned partition to the offset stored in PostgreSQL (the beginning when
 * none is stored), as a rebalance does. Run before the next batch after a failed batch or
 * a reconnect: what this process saw committed may since have been lost with a failed-over
 * primary, and only the database says where the read model stands. 0, or -1 (database or
 * seek failing: try again later, consume nothing meanwhile). */
static int os_resync(os_projector_t *p)
{
    os_offset_t *offs = p->offs_buf;
    size_t n = 0;
    char e[512];
    os_offset_t seek[OS_MAX_PARTS];
    p->w.db.session(p->w.db.self, NULL, 0); /* re-made when broken; the position is re-read anyway */
    if (p->w.db.load_offsets(p->w.db.self, p->w.topic, offs, OS_MAX_PARTS, &n, e, sizeof e) != 0) {
        clog_warn(p->w.log, "projection: cannot read the stored offsets yet (retrying): %s", e);
        return -1;
    }
    int na = p->w.consumer.assignment(p->w.consumer.self, p->parts_buf, OS_MAX_PARTS);
    if (na < 0)
        return -1;
    for (int i = 0; i < na; i++) {
        seek[i].partition = p->parts_buf[i];
        seek[i].next_offset = OS_OFFSET_BEGINNING;
        for (size_t k = 0; k < n; k++)
            if (offs[k].partition == p->parts_buf[i])
                seek[i].next_offset = offs[k].next_offset;
    }
    if (na > 0 && p->w.consumer.seek(p->w.consumer.self, seek, (size_t)na, e, sizeof e) != 0) {
        clog_warn(p->w.log, "projection: seek to the stored offsets failed (retrying): %s", e);
        return -1;
    }
    clog_info(p->w.log, "projection: position re-read from the stored offsets (%d partition(s))", na);
    return 0;
}

static void os_after_commit(os_projector_t *p, const os_batch_t *b, const os_proj_stats_t *st)
{
    int64_t now = p->w.clock.wall_ms(p->w.clock.self);
    int64_t newest = 0;
    atomic_fetch_add(&p->applied, b->nev);
    for (size_t i = 0; i < b->nev; i++)
        if (!b->events[i].tombstone && b->events[i].occurred_at_ms > newest)
            newest = b->events[i].occurred_at_ms;
    p->w.consumer.commit(p->w.consumer.self, b->offs, b->noffs);
    if (p->w.metrics) {
        metrics_t *m = p->w.metrics;
        metrics_add(m, "order_projection_batches_total", "result=\"committed\"", 1);
        metrics_add(m, "order_projection_events_total", "decision=\"insert\"", (double)st->inserted);
        metrics_add(m, "order_projection_events_total", "decision=\"update\"", (double)st->updated);
        metrics_add(m, "order_projection_events_total", "decision=\"delete\"", (double)st->deleted);
        metrics_add(m, "order_projection_events_total", "decision=\"skip-stale\"", (double)st->skipped_stale);
        metrics_add(m, "order_projection_events_total", "decision=\"skip-absent\"",
                    (double)st->skipped_absent);
        for (size_t i = 0; i < b->nev; i++)
            if (!b->events[i].tombstone && b->events[i].occurred_at_ms > 0)
                metrics_observe(m, "order_projection_lag_seconds", NULL,
                                (double)(now - b->events[i].occurred_at_ms) / 1000.0);
        if (newest > 0)
            metrics_set(m, "order_projection_lag_ms", NULL, (double)(now - newest));
        for (size_t i = 0; i < b->noffs; i++) {
            int64_t hi;
            char lab[48];
            if (p->w.consumer.high_watermark(p->w.consumer.self, b->offs[i].partition, &hi) == 0) {
                snprintf(lab, sizeof lab, "partition=\"%d\"", (int)b->offs[i].partition);
                int64_t lag = hi - b->offs[i].next_offset;
                metrics_set(m, "order_consumer_lag", lab, (double)(lag < 0 ? 0 : lag));
            }
        }
    }
    if (p->w.changes.bump)
        p->w.changes.bump(p->w.changes.self);
}

/* Polls up to batch_max messages: waits poll_ms for the first, then takes what is
 * already fetched. A rebalance in between discards the batch (it will be re-read from the
 * stored offsets). */
static void os_collect(os_projector_t *p, os_batch_t *b)
{
    unsigned long gen = p->assign_gen;
    int timeout = p->t.poll_ms;
    while ((int)b->n < p->t.batch_max && !atomic_load(&p->stop)) {
        os_msg_t m;
        int got = p->w.consumer.poll(p->w.consumer.self, timeout, &p->rebalance, &m);
        if (p->assign_gen != gen) {
            /* A rebalance ran inside this poll: what was collected before belongs to the
             * old assignment and is dropped (the new assignment starts at the stored
             * offsets, so it is read again). A message returned by this same poll was
             * fetched under the new assignment (librdkafka discards outdated fetches):
             * it must be kept — dropping it would skip it for good. */
            os_batch_reset(b);
            gen = p->assign_gen;
        }
        if (!got)
            break;
        if (m.err != OS_MSG_OK) {
            if (m.err != OS_MSG_EOF)
                clog_warn(p->w.log, "projection: consumer: %s", m.errstr ? m.errstr : "error");
            p->w.consumer.release(p->w.consumer.self, &m);
            if (b->n > 0)
                break;
            continue;
        }
        if (os_batch_add(b, &m) != 0)
            break;
        timeout = 0;
    }
}

void os_projector_pause(os_projector_t *p)
{
    for (long slept = 0; slept < p->backoff && !atomic_load(&p->stop); slept += 50)
        svc_sleep_ms(p->backoff - slept < 50 ? p->backoff - slept : 50);
    p->backoff = p->backoff < 5000 ? p->backoff * 2 : 5000;
}

/* The settings of this step: the latest ones given to os_projector_tune. */
static void os_step_tuning(os_projector_t *p)
{
    pthread_mutex_lock(&p->tune_mu);
    p->t = p->tuning;
    pthread_mutex_unlock(&p->tune_mu);
}

void os_projector_step(os_projector_t *p)
{
    os_batch_t *b = &p->b;
    char err[1024];
    os_step_tuning(p);
    if (p->resync && os_resync(p) == 0)
        p->resync = 0;
    os_collect(p, b);
    if (p->resync) { /* nothing is applied from a position the database has not confirmed */
        os_batch_reset(b);
        os_projector_pause(p);
        return;
    }
    if (b->n == 0)
        return;
    os_proj_stats_t st;
    memset(&st, 0, sizeof st);
    int ok = os_batch_decode(b, p->w.codec) == 0 && os_dlq_send(p, b->poison, b->npoison) == 0;
    if (ok) {
        if (p->w.db.session(p->w.db.self, NULL, 0) != 0) { /* a new session: maybe another server */
            p->resync = 1;
            os_batch_reset(b);
            return;
        }
        ok = os_projection_apply(&p->w.db.store, p->w.topic, b->events, b->nev, b->offs, b->noffs, &st, err,
                                 sizeof err) == 0;
        if (!ok) {
            clog_error(p->w.log, "projection: batch of %zu rolled back (attempt %d): %s", b->n,
                       p->failures + 1, err);
            if (p->failures + 1 >= p->t.max_retries && os_dlq_db_up(p)) {
                memset(&st, 0, sizeof st);
                ok = os_dlq_apply_one_by_one(p, b, &st) == 0;
            }
        }
    }
    if (ok) {
        clog_debug(p->w.log, "projection: batch of %zu committed (%zu rows written, %zu dlq)", b->n, st.ops,
                   b->npoison);
        os_after_commit(p, b, &st);
        atomic_store(&p->healthy, 1);
        p->backoff = p->t.retry_backoff_ms;
        p->failures = 0;
    } else {
        p->failures++;
        atomic_store(&p->healthy, 0);
        if (p->w.metrics)
            metrics_add(p->w.metrics, "order_projection_batches_total", "result=\"failed\"", 1);
        p->resync = 1; /* re-read the position from the stored offsets before retrying */
        os_projector_pause(p);
    }
    os_batch_reset(b);
}
