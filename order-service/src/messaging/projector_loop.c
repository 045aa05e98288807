/* projector_loop.c — one step of the live projection's loop: every check_ms read the stored
 * offsets back (os_check: a replaced session, or a stored offset behind what was committed,
 * means the position is in doubt), re-read the position from the stored offsets when it is
 * in doubt (os_resync), collect a batch (os_collect), decode it, dead-letter its poison,
 * apply it in one transaction and do the bookkeeping (os_after_commit), or roll back, pause
 * and retry. Rebalances come in through the consumer's listener (os_on_assigned,
 * os_on_revoked). Everything it touches is a port (see projector.h), so the unit tests
 * drive it with fakes. See projector_int.h.
 */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "svc.h"

/* The offset stored for `part` in offs[0..n) (OS_OFFSET_BEGINNING and epoch 0 when none). */
static os_offset_t os_stored(const os_offset_t *offs, size_t n, int32_t part)
{
    for (size_t k = 0; k < n; k++)
        if (offs[k].partition == part)
            return offs[k];
    return (os_offset_t){part, OS_OFFSET_BEGINNING, 0};
}

/* Drops the catching-up targets that are reached (or whose partition is no longer held) and
 * says when none is left. */
static void os_behind_update(os_projector_t *p)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nbehind; i++) {
        int64_t at = OS_OFFSET_BEGINNING;
        int held = 0;
        for (size_t j = 0; j < p->npos; j++)
            if (p->pos[j].partition == p->behind[i].partition) {
                held = 1;
                at = p->pos[j].next_offset;
            }
        if (held && at < p->behind[i].next_offset)
            p->behind[k++] = p->behind[i];
    }
    p->nbehind = k;
    if (k == 0 && atomic_load(&p->catching_up)) {
        atomic_store(&p->catching_up, 0);
        clog_info(p->w.log, "projection: caught up with the position committed before the loss");
    }
}

/* The stored offsets of the partitions held now were read (st[i]: partition, offset, epoch).
 * One that is behind what this process had committed under the same epoch means commits
 * were lost (the live session commits asynchronously: a server crash loses its last commits,
 * offsets included; a failover to an asynchronous standby too): logged, and the projector is
 * catching up until the stored offsets are back there. Another epoch means an operator moved
 * the position: taken as it is. The believed positions become the stored ones. */
static void os_take_stored(os_projector_t *p, const os_offset_t *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p->npos; j++) {
            if (p->pos[j].partition != st[i].partition)
                continue;
            if (st[i].epoch != p->pos[j].epoch) {
                clog_info(p->w.log,
                          "projection: the stored position of %s[%d] was moved by an operator to %" PRId64
                          " (epoch %" PRId64 "); consuming from there",
                          p->w.topic, (int)st[i].partition, st[i].next_offset, st[i].epoch);
                size_t k = 0;
                for (size_t b = 0; b < p->nbehind; b++)
                    if (p->behind[b].partition != st[i].partition)
                        p->behind[k++] = p->behind[b];
                p->nbehind = k;
                continue;
            }
            if (st[i].next_offset >= p->pos[j].next_offset)
                continue;
            const int32_t part = st[i].partition;
            const int64_t stored = st[i].next_offset;
            clog_warn(p->w.log,
                      "projection: the stored offset of %s[%d] is %" PRId64 ", behind the %" PRId64
                      " this process committed: commits were lost (a database crash or failover); applying "
                      "those events again",
                      p->w.topic, (int)part, stored, p->pos[j].next_offset);
            size_t k;
            for (k = 0; k < p->nbehind && p->behind[k].partition != part; k++)
                ;
            if (k == p->nbehind && k < OS_MAX_PARTS)
                p->behind[p->nbehind++] = p->pos[j];
            else if (k < p->nbehind && p->behind[k].next_offset < p->pos[j].next_offset)
                p->behind[k].next_offset = p->pos[j].next_offset;
            atomic_store(&p->catching_up, 1);
        }
    }
    for (size_t i = 0; i < n && i < OS_MAX_PARTS; i++)
        p->pos[i] = st[i];
    p->npos = n < OS_MAX_PARTS ? n : OS_MAX_PARTS;
    os_behind_update(p);
    os_ctl_publish(p);
}

/* A commit stored these offsets. */
static void os_pos_committed(os_projector_t *p, const os_offset_t *offs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < p->npos && p->pos[j].partition != offs[i].partition; j++)
            ;
        if (j == p->npos && j < OS_MAX_PARTS)
            p->npos++;
        if (j < p->npos)
            p->pos[j] = offs[i];
    }
    if (p->nbehind > 0)
        os_behind_update(p);
}

/* order_consumer_lag{partition}: the high watermark minus the stored offset. */
static void os_lag_metric(os_projector_t *p, int32_t part, int64_t stored)
{
    int64_t hi;
    char lab[48];
    if (p->w.metrics == NULL || p->w.consumer.high_watermark(p->w.consumer.self, part, &hi) != 0)
        return;
    snprintf(lab, sizeof lab, "partition=\"%d\"", (int)part);
    int64_t lag = hi - (stored < 0 ? 0 : stored);
    metrics_set(p->w.metrics, "order_consumer_lag", lab, (double)(lag < 0 ? 0 : lag));
}

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
    os_offset_t st[OS_MAX_PARTS];
    for (size_t i = 0; i < n && i < OS_MAX_PARTS; i++) {
        st[i] = os_stored(offs, nst, parts[i]);
        from[i] = st[i].next_offset;
        if (from[i] < 0)
            clog_info(p->w.log, "projection: assigned %s[%d] from the beginning (no stored offset)",
                      p->w.topic, (int)parts[i]);
        else
            clog_info(p->w.log, "projection: assigned %s[%d] from stored offset %" PRId64, p->w.topic,
                      (int)parts[i], from[i]);
    }
    os_take_stored(p, st, n < OS_MAX_PARTS ? n : OS_MAX_PARTS);
}

static void os_on_revoked(void *self, size_t n)
{
    os_projector_t *p = self;
    p->assign_gen++;
    p->npos = 0;
    os_behind_update(p);
    os_ctl_publish(p);
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
    for (int i = 0; i < na; i++)
        seek[i] = os_stored(offs, n, p->parts_buf[i]);
    if (na > 0 && p->w.consumer.seek(p->w.consumer.self, seek, (size_t)na, e, sizeof e) != 0) {
        clog_warn(p->w.log, "projection: seek to the stored offsets failed (retrying): %s", e);
        return -1;
    }
    os_take_stored(p, seek, (size_t)na);
    clog_info(p->w.log, "projection: position re-read from the stored offsets (%d partition(s))", na);
    return 0;
}

/* Reads the stored offsets back (every check_ms, idle or not): a re-made session (the server
 * restarted, or a failover) or a stored offset behind the believed position puts the
 * position in doubt — it is re-read before anything else is applied. Sets the lag metric
 * from the stored offsets. A database that does not answer decides nothing: the next check
 * or batch finds out. */
static void os_check(os_projector_t *p)
{
    os_offset_t *offs = p->offs_buf;
    size_t n = 0;
    char e[512];
    int s = p->w.db.session(p->w.db.self, e, sizeof e);
    if (s < 0)
        return;
    if (p->w.db.load_offsets(p->w.db.self, p->w.topic, offs, OS_MAX_PARTS, &n, e, sizeof e) != 0) {
        /* a server that went away unnoticed: the session is re-made and read once more */
        if (s != 0 || p->w.db.session(p->w.db.self, NULL, 0) != 1 ||
            p->w.db.load_offsets(p->w.db.self, p->w.topic, offs, OS_MAX_PARTS, &n, e, sizeof e) != 0)
            return;
        s = 1;
    }
    int doubt = s == 1;
    if (doubt)
        clog_info(p->w.log, "projection: the database session was re-made (a server restart or failover): "
                            "re-reading the position from the stored offsets");
    for (size_t j = 0; j < p->npos; j++) {
        os_offset_t st = os_stored(offs, n, p->pos[j].partition);
        if (st.next_offset < p->pos[j].next_offset || st.epoch != p->pos[j].epoch)
            doubt = 1; /* lost commits, or an operator's move (a new epoch) */
        os_lag_metric(p, p->pos[j].partition, st.next_offset);
    }
    if (doubt)
        p->resync = 1;
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
            metrics_set(m, "order_projection_newest_event_age_seconds", NULL,
                        (double)(now - newest) / 1000.0);
    }
    for (size_t i = 0; i < b->noffs; i++) /* what the commit stored */
        os_lag_metric(p, b->offs[i].partition, b->offs[i].next_offset);
    os_pos_committed(p, b->offs, b->noffs);
    if (p->w.changes.bump)
        p->w.changes.bump(p->w.changes.self);
    os_trace_batch(p, b);
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

/* While an operator holds the projection paused: rebalances are served (their partitions
 * are paused by the consumer), anything still returned is dropped (resuming re-reads the
 * stored offsets), the stored offsets are read back as usual. */
static void os_paused_step(os_projector_t *p)
{
    os_msg_t m;
    int64_t now = p->w.clock.mono_ms(p->w.clock.self);
    if (now >= p->check_at) {
        os_check(p);
        p->check_at = now + p->t.check_ms;
    }
    if (p->w.consumer.poll(p->w.consumer.self, p->t.poll_ms, &p->rebalance, &m)) {
        p->w.consumer.release(p->w.consumer.self, &m);
        p->resync = 1;
    }
}

/* The batch's offsets carry the epochs its position was read under: a move since makes
 * the commit fail instead of storing over it. */
static void os_stamp_epochs(os_projector_t *p, os_batch_t *b)
{
    for (size_t i = 0; i < b->noffs; i++)
        b->offs[i].epoch = os_pos_epoch(p, b->offs[i].partition);
}

/* The schema registry gave no usable answer for a record of `b`: nothing of the batch is
 * applied, dead-lettered or committed; the position is re-read and the batch polled again
 * after the backoff, until the registry answers (the staleness then recovers by itself). */
static void os_registry_wait(os_projector_t *p, os_batch_t *b)
{
    p->registry_waits++;
    if (p->registry_waits == 1 || p->registry_waits % 10 == 0)
        clog_warn(
            p->w.log,
            "projection: waiting for the schema registry (attempt %d; batch of %zu not applied, nothing "
            "dead-lettered, retrying in %ld ms): %s",
            p->registry_waits, b->n, p->backoff, b->retry);
    else
        clog_debug(p->w.log, "projection: still waiting for the schema registry (attempt %d): %s",
                   p->registry_waits, b->retry);
    atomic_store(&p->healthy, 0);
    if (p->w.metrics)
        metrics_add(p->w.metrics, "order_projection_batches_total", "result=\"registry_unavailable\"", 1);
    p->resync = 1;
    os_batch_reset(b);
    os_projector_pause(p);
}

void os_projector_step(os_projector_t *p)
{
    os_batch_t *b = &p->b;
    char err[1024];
    os_step_tuning(p);
    os_ctl_run(p);
    if (atomic_load(&p->paused)) {
        os_paused_step(p);
        return;
    }
    int64_t now = p->w.clock.mono_ms(p->w.clock.self);
    if (!p->resync && now >= p->check_at) {
        os_check(p);
        p->check_at = now + p->t.check_ms;
    }
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
    int dec = os_batch_decode(b, p->w.codec);
    if (dec == OS_BATCH_RETRY) {
        os_registry_wait(p, b);
        return;
    }
    if (p->registry_waits > 0) {
        clog_info(p->w.log, "projection: the schema registry answers again (after %d attempts)",
                  p->registry_waits);
        p->registry_waits = 0;
    }
    int ok = dec == 0 && os_dlq_send(p, b->poison, b->npoison) == 0;
    if (ok) {
        if (p->w.db.session(p->w.db.self, NULL, 0) != 0) { /* a new session: maybe another server */
            p->resync = 1;
            os_batch_reset(b);
            return;
        }
        os_stamp_epochs(p, b);
        ok = os_projection_apply(&p->w.db.store, p->w.topic, b->events, b->nev, b->offs, b->noffs, &st, err,
                                 sizeof err) == 0;
        if (!ok && os_dlq_position_moved(p)) {
            /* an operator moved the position under this batch (another replica's replay):
             * not a failure — the batch is dropped and the new position read */
            clog_info(p->w.log, "projection: batch of %zu dropped: the stored position was moved meanwhile",
                      b->n);
            os_batch_reset(b);
            return;
        }
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
