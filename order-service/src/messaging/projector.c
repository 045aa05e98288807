/* projector.c — the live projection: the consumer thread (collect a batch, decode, apply it
 * in one transaction, retry with backoff), rebalance seeks to the stored offsets, the
 * Kafka-side bookkeeping after a commit, and a bounded shutdown. See projector.h; the
 * dead-letter side is projector_dlq.c. */
#include "messaging/projector_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgx.h"
#include "svc.h"

/* Seeks the assigned partitions to the offsets stored in PostgreSQL. */
static void os_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                            void *opaque)
{
    os_projector_t *p = kfk_user(rk);
    (void)opaque;
    p->assign_gen++;
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        clog_info(p->o.log, "projection: %d partition(s) revoked", parts->cnt);
        rd_kafka_assign(rk, NULL);
        return;
    }
    os_offset_t *offs = p->offs_buf;
    size_t n = 0;
    char e[512];
    for (int attempt = 0;; attempt++) {
        if (PQstatus(p->pg) != CONNECTION_OK)
            PQreset(p->pg);
        if (os_pgproj_load_offsets(p->pg, p->o.topic, offs, OS_MAX_PARTS, &n, e, sizeof e) == 0)
            break;
        clog_error(p->o.log, "projection: cannot load stored offsets (retrying): %s", e);
        if (atomic_load(&p->stop) && attempt > 3)
            break;
        svc_sleep_ms(attempt < 10 ? 200 : 1000);
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        if (strcmp(tp->topic, p->o.topic) == 0)
            for (size_t k = 0; k < n; k++)
                if (offs[k].partition == tp->partition)
                    tp->offset = offs[k].next_offset;
        if (tp->offset < 0)
            clog_info(p->o.log, "projection: assigned %s[%d] from the beginning (no stored offset)",
                      tp->topic, (int)tp->partition);
        else
            clog_info(p->o.log, "projection: assigned %s[%d] from stored offset %" PRId64, tp->topic,
                      (int)tp->partition, tp->offset);
    }
    rd_kafka_assign(rk, parts);
}

static int os_conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t len)
{
    return kfk_conf_set(c, k, v, err, len);
}

os_projector_t *os_projector_new(const os_projector_opts_t *opts, char *err, size_t errlen)
{
    os_projector_t *p = calloc(1, sizeof *p);
    rd_kafka_conf_t *cc = NULL, *pc = NULL;
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->o = *opts;
    if (p->o.batch_max <= 0)
        p->o.batch_max = 1000;
    if (p->o.poll_ms <= 0)
        p->o.poll_ms = 100;
    if (p->o.max_retries <= 0)
        p->o.max_retries = 5;
    if (p->o.retry_backoff_ms <= 0)
        p->o.retry_backoff_ms = 1000;
    p->opq_c.log = opts->log;
    p->opq_c.user = p;
    p->opq_p = p->opq_c;

    p->pg = pgx_connect(opts->conninfo, 30, opts->log);
    if (p->pg == NULL) {
        snprintf(err, errlen, "projection: cannot connect to PostgreSQL");
        goto fail;
    }
    p->store.conn = p->pg;
    p->store.table = OS_TABLE_LIVE;
    p->store.async_commit = 1; /* see os_pgproj_t: Kafka holds the events until re-read */

    cc = kfk_conf_new(opts->bootstrap, "order-service-projection", &p->opq_c, err, errlen);
    if (cc == NULL)
        goto fail;
    if (kfk_conf_apply_all(cc, KFK_CONSUMER, opts->consumer_kv, opts->n_consumer_kv, err, errlen) != 0 ||
        os_conf_set(cc, "group.id", opts->group_id, err, errlen) ||
        os_conf_set(cc, "enable.auto.commit", "false", err, errlen) ||
        os_conf_set(cc, "enable.auto.offset.store", "false", err, errlen) ||
        os_conf_set(cc, "partition.assignment.strategy", "range,roundrobin", err, errlen))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(cc, os_rebalance_cb);
    p->consumer = kfk_consumer_new(cc, err, errlen);
    cc = NULL;
    if (p->consumer == NULL)
        goto fail;

    pc = kfk_conf_new(opts->bootstrap, "order-service-dlq", &p->opq_p, err, errlen);
    if (pc == NULL)
        goto fail;
    if (os_conf_set(pc, "linger.ms", "0", err, errlen))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(pc, os_dlq_dr_cb);
    p->producer = kfk_producer_new(pc, err, errlen);
    pc = NULL;
    if (p->producer == NULL)
        goto fail;

    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, opts->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(p->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "projection: subscribe %s: %s", opts->topic, rd_kafka_err2str(e));
        goto fail;
    }
    if (opts->metrics) {
        metrics_declare(opts->metrics, "order_projection_events_total", METRICS_COUNTER,
                        "Customer events applied to the read model, by decision.", NULL, 0);
        metrics_declare(opts->metrics, "order_projection_batches_total", METRICS_COUNTER,
                        "Projection transactions, by result.", NULL, 0);
        metrics_declare(opts->metrics, "order_projection_dlq_total", METRICS_COUNTER,
                        "Messages sent to the dead-letter topic, by reason.", NULL, 0);
        metrics_declare(opts->metrics, "order_projection_lag_ms", METRICS_GAUGE,
                        "Age of the newest applied event at commit (now - occurredAt), ms.", NULL, 0);
        static const double b[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 60};
        metrics_declare(opts->metrics, "order_projection_lag_seconds", METRICS_HISTOGRAM,
                        "Event age at commit (now - occurredAt).", b, sizeof b / sizeof b[0]);
        metrics_declare(opts->metrics, "order_consumer_lag", METRICS_GAUGE,
                        "High watermark minus next offset, per partition.", NULL, 0);
    }
    return p;
fail:
    if (cc)
        rd_kafka_conf_destroy(cc);
    if (pc)
        rd_kafka_conf_destroy(pc);
    os_projector_free(p);
    return NULL;
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
    rd_kafka_topic_partition_list_t *asg = NULL;
    int rc = -1;
    if (PQstatus(p->pg) != CONNECTION_OK)
        PQreset(p->pg);
    if (os_pgproj_load_offsets(p->pg, p->o.topic, offs, OS_MAX_PARTS, &n, e, sizeof e) != 0) {
        clog_warn(p->o.log, "projection: cannot read the stored offsets yet (retrying): %s", e);
        goto cleanup;
    }
    if (rd_kafka_assignment(p->consumer, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto cleanup;
    for (int i = 0; i < asg->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &asg->elems[i];
        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        for (size_t k = 0; k < n && strcmp(tp->topic, p->o.topic) == 0; k++)
            if (offs[k].partition == tp->partition)
                tp->offset = offs[k].next_offset;
    }
    if (asg->cnt > 0) {
        rd_kafka_error_t *se = rd_kafka_seek_partitions(p->consumer, asg, 5000);
        if (se != NULL) {
            clog_warn(p->o.log, "projection: seek to the stored offsets failed (retrying): %s",
                      rd_kafka_error_string(se));
            rd_kafka_error_destroy(se);
            goto cleanup;
        }
        for (int i = 0; i < asg->cnt; i++)
            if (asg->elems[i].err) {
                clog_warn(p->o.log, "projection: seek of %s[%d] failed (retrying): %s", asg->elems[i].topic,
                          (int)asg->elems[i].partition, rd_kafka_err2str(asg->elems[i].err));
                goto cleanup;
            }
    }
    clog_info(p->o.log, "projection: position re-read from the stored offsets (%d partition(s))", asg->cnt);
    rc = 0;
cleanup:
    if (asg != NULL)
        rd_kafka_topic_partition_list_destroy(asg);
    return rc;
}

static void os_after_commit(os_projector_t *p, const os_batch_t *b, const os_proj_stats_t *st)
{
    int64_t now = svc_wall_ms();
    int64_t newest = 0;
    atomic_fetch_add(&p->applied, b->nev);
    for (size_t i = 0; i < b->nev; i++)
        if (!b->events[i].tombstone && b->events[i].occurred_at_ms > newest)
            newest = b->events[i].occurred_at_ms;
    /* Kafka offsets too (async; informational, for lag tooling — PostgreSQL holds the truth),
     * at most once a second: a commit per batch queues heartbeats behind commits at the
     * group coordinator under load, and the session then times out (a 10 s stall). */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)b->noffs);
    for (size_t i = 0; i < b->noffs; i++)
        rd_kafka_topic_partition_list_add(l, p->o.topic, b->offs[i].partition)->offset =
            b->offs[i].next_offset;
    rd_kafka_offsets_store(p->consumer, l);
    if (now - p->kcommit_ms >= 1000) {
        rd_kafka_commit(p->consumer, NULL, 1); /* the stored offsets of every partition */
        p->kcommit_ms = now;
    }
    if (p->o.metrics) {
        metrics_t *m = p->o.metrics;
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
            int64_t lo, hi;
            char lab[48];
            if (rd_kafka_get_watermark_offsets(p->consumer, p->o.topic, b->offs[i].partition, &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(lab, sizeof lab, "partition=\"%d\"", (int)b->offs[i].partition);
                int64_t lag = hi - b->offs[i].next_offset;
                metrics_set(m, "order_consumer_lag", lab, (double)(lag < 0 ? 0 : lag));
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (p->o.changes.bump)
        p->o.changes.bump(p->o.changes.self);
}

/* Polls up to batch_max messages: waits poll_ms for the first, then takes what is
 * already fetched. A rebalance in between discards the batch (it will be re-read from the
 * stored offsets). */
static void os_collect(os_projector_t *p, os_batch_t *b)
{
    unsigned long gen = p->assign_gen;
    int timeout = p->o.poll_ms;
    while ((int)b->n < p->o.batch_max && !atomic_load(&p->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, timeout);
        if (p->assign_gen != gen) {
            /* A rebalance ran inside this poll: what was collected before belongs to the
             * old assignment and is dropped (the new assignment starts at the stored
             * offsets, so it is read again). A message returned by this same poll was
             * fetched under the new assignment (librdkafka discards outdated fetches):
             * it must be kept — dropping it would skip it for good. */
            os_batch_reset(b);
            gen = p->assign_gen;
        }
        if (m == NULL)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                clog_warn(p->o.log, "projection: consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (b->n > 0)
                break;
            continue;
        }
        if (os_batch_add(b, m) != 0)
            break;
        timeout = 0;
    }
}

/* Leaves the group within `ms`. rd_kafka_consumer_close() waits without a limit for the
 * group coordinator (pending offset commits, LeaveGroup), so with the broker gone it never
 * returns; the asynchronous close is served here (the rebalance callback runs on this
 * thread) until it completes or the deadline passes. Returns 1 closed, 0 abandoned (the
 * handle must then be destroyed with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE). Nothing is
 * lost by abandoning: the read model and its offsets are committed in PostgreSQL. */
static int os_close_consumer(os_projector_t *p, int ms)
{
    int closed = 0;
    int64_t deadline = svc_mono_ms() + ms;
    rd_kafka_queue_t *q = rd_kafka_queue_new(p->consumer);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(p->consumer, q);
    if (e != NULL) {
        clog_warn(p->o.log, "projection: consumer close: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        goto cleanup;
    }
    while (!(closed = rd_kafka_consumer_closed(p->consumer)) && svc_mono_ms() < deadline) {
        /* The event API (the callback one asserts on fetched messages still queued): a
         * rebalance goes to the usual callback, anything else is dropped. */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
        if (ev != NULL && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
            os_rebalance_cb(p->consumer, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev),
                            NULL);
        rd_kafka_event_destroy(ev);
    }
    if (!closed)
        clog_warn(p->o.log,
                  "projection: the consumer did not leave the group within %d ms (Kafka unreachable?); "
                  "closing without it (offsets are safe in PostgreSQL)",
                  ms);
cleanup:
    rd_kafka_queue_destroy(q);
    return closed;
}

static void *os_projector_main(void *arg)
{
    os_projector_t *p = arg;
    os_batch_t b;
    char err[1024];
    long backoff = p->o.retry_backoff_ms;
    int failures = 0; /* consecutive failed attempts of the current batch */
    os_batch_init(&b);
    atomic_store(&p->healthy, 1);
    while (!atomic_load(&p->stop)) {
        if (p->resync && os_resync(p) == 0)
            p->resync = 0;
        os_collect(p, &b);
        if (p->resync) { /* nothing is applied from a position the database has not confirmed */
            os_batch_reset(&b);
            for (long slept = 0; slept < backoff && !atomic_load(&p->stop); slept += 50)
                svc_sleep_ms(50);
            backoff = backoff < 5000 ? backoff * 2 : 5000;
            continue;
        }
        if (b.n == 0)
            continue;
        os_proj_stats_t st;
        memset(&st, 0, sizeof st);
        int ok = os_batch_decode(&b, p->o.codec) == 0 && os_dlq_send(p, b.poison, b.npoison) == 0;
        if (ok) {
            if (PQstatus(p->pg) != CONNECTION_OK) { /* a new connection: maybe another server */
                PQreset(p->pg);
                p->resync = 1;
                os_batch_reset(&b);
                continue;
            }
            os_projstore_port_t port = os_pgproj_port(&p->store);
            ok = os_projection_apply(&port, p->o.topic, b.events, b.nev, b.offs, b.noffs, &st, err,
                                     sizeof err) == 0;
            if (!ok) {
                clog_error(p->o.log, "projection: batch of %zu rolled back (attempt %d): %s", b.n,
                           failures + 1, err);
                if (failures + 1 >= p->o.max_retries && os_dlq_db_up(p)) {
                    memset(&st, 0, sizeof st);
                    ok = os_dlq_apply_one_by_one(p, &b, &st) == 0;
                }
            }
        }
        if (ok) {
            clog_debug(p->o.log, "projection: batch of %zu committed (%zu rows written, %zu dlq)", b.n,
                       st.ops, b.npoison);
            os_after_commit(p, &b, &st);
            atomic_store(&p->healthy, 1);
            backoff = p->o.retry_backoff_ms;
            failures = 0;
        } else {
            failures++;
            atomic_store(&p->healthy, 0);
            if (p->o.metrics)
                metrics_add(p->o.metrics, "order_projection_batches_total", "result=\"failed\"", 1);
            p->resync = 1; /* re-read the position from the stored offsets before retrying */
            for (long slept = 0; slept < backoff && !atomic_load(&p->stop); slept += 50)
                svc_sleep_ms(50);
            backoff = backoff < 5000 ? backoff * 2 : 5000;
        }
        os_batch_reset(&b);
    }
    os_batch_free(&b);
    p->closed = os_close_consumer(p, OS_CLOSE_MS);
    return NULL;
}

int os_projector_start(os_projector_t *p)
{
    if (pthread_create(&p->thread, NULL, os_projector_main, p) != 0)
        return -1;
    p->started = 1;
    return 0;
}

void os_projector_stop(os_projector_t *p)
{
    if (p == NULL || !p->started)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    p->started = 0;
}

/* Runs rd_kafka_destroy of the consumer (the helper thread of os_projector_shutdown). */
static void *os_destroy_consumer(void *arg)
{
    os_projector_t *p = arg;
    rd_kafka_destroy_flags(p->consumer, p->closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return NULL;
}

int os_projector_shutdown(os_projector_t *p)
{
    pthread_t t;
    struct timespec until;
    if (p == NULL)
        return 0;
    os_projector_stop(p);
    if (p->consumer != NULL) {
        /* Even without the consumer close, librdkafka keeps the handle until offset commits
         * still waiting for an unreachable coordinator expire (session.timeout.ms after the
         * close began): the destroy gets OS_DESTROY_MS, then the handle is abandoned. */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += OS_DESTROY_MS / 1000;
        if (pthread_create(&t, NULL, os_destroy_consumer, p) != 0) {
            os_destroy_consumer(p);
        } else if (pthread_timedjoin_np(t, NULL, &until) != 0) {
            pthread_detach(t);
            clog_warn(p->o.log,
                      "projection: the Kafka consumer did not shut down within %d ms (offset commits "
                      "waiting for an unreachable coordinator); abandoning it",
                      OS_DESTROY_MS);
            p->abandoned = 1;
            return 1;
        }
        p->consumer = NULL;
        clog_debug(p->o.log, "projection: consumer destroyed");
    }
    if (p->producer) {
        /* Nothing is waiting here normally (each batch flushes its dead letters); what a
         * stop interrupted is dropped — that batch was not committed and is read again. */
        if (rd_kafka_flush(p->producer, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_purge(p->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(p->producer);
        p->producer = NULL;
        clog_debug(p->o.log, "projection: dead-letter producer destroyed");
    }
    return 0;
}

void os_projector_free(os_projector_t *p)
{
    if (p == NULL || os_projector_shutdown(p) != 0 || p->abandoned)
        return; /* abandoned: librdkafka still uses it (see projector.h) */
    PQfinish(p->pg);
    free(p);
}

int os_projector_healthy(const os_projector_t *p)
{
    return p != NULL && p->started && atomic_load(&p->healthy);
}

int os_projector_kafka_ok(os_projector_t *p)
{
    if (p == NULL || p->producer == NULL)
        return 0;
    long long now = svc_mono_ms();
    long long last = atomic_load(&p->kafka_checked_ms);
    if (last == 0 || now - last > 2000) {
        atomic_store(&p->kafka_checked_ms, now);
        atomic_store(&p->kafka_ok, kfk_reachable(p->producer, 1000));
    }
    return atomic_load(&p->kafka_ok);
}

unsigned long long os_projector_applied(const os_projector_t *p)
{
    return p ? atomic_load(&p->applied) : 0;
}
