/* customer_ops.c — backfill (re-publishing customers through the outbox) and the checksum.
 * See customer_ops.h. */
#include "application/customer_ops.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uuidtext.h"

struct cs_ops {
    const customer_app_t *app;
    snapshot_store_t store;
    metrics_t *metrics;
    const clog_t *log;
    pthread_mutex_t mu;
    pthread_t thread;
    int has_thread;
    int running;
    atomic_int cancel;
    cs_backfill_req_t rq;
    cs_backfill_status_t st; /* under mu */
};

static void cs_ops_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t cs_ops_now(const cs_ops_t *o)
{
    return o->app->clock.ops->now_ms(o->app->clock.self);
}

static int64_t cs_ops_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cs_ops_t *cs_ops_new(const customer_app_t *app, snapshot_store_t store, metrics_t *metrics, const clog_t *log)
{
    cs_ops_t *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->app = app;
    o->store = store;
    o->metrics = metrics;
    o->log = log;
    o->st.state = "idle";
    o->st.since_ms = -1;
    pthread_mutex_init(&o->mu, NULL);
    if (metrics != NULL) {
        metrics_declare(metrics, "customer_backfill_events_total", METRICS_COUNTER,
                        "Customers re-published through the outbox by a backfill (tombstones included).",
                        NULL, 0);
        metrics_declare(metrics, "customer_backfill_running", METRICS_GAUGE, "1 while a backfill job runs.",
                        NULL, 0);
        metrics_declare(
            metrics, "customer_admin_actions_total", METRICS_COUNTER,
            "Operations API actions (backfill, backfill-ids, backfill-cancel, checksum), by result.", NULL,
            0);
    }
    return o;
}

void cs_ops_count(cs_ops_t *o, const char *action, int ok)
{
    char lab[96];
    if (o->metrics == NULL)
        return;
    snprintf(lab, sizeof lab, "action=\"%s\",result=\"%s\"", action, ok ? "ok" : "failed");
    metrics_add(o->metrics, "customer_admin_actions_total", lab, 1);
}

/* The snap_encode_fn: the event re-publishing `c` as it is now. */
static int cs_ops_encode(void *self, const customer_t *c, unsigned char **out, size_t *len)
{
    const cs_ops_t *o = self;
    customer_event_t ev;
    customer_event_of(&ev, c->version == 1 ? CUSTOMER_EV_CREATED : CUSTOMER_EV_UPDATED, c, c->updated_at_ms);
    return o->app->encoder.ops->encode(o->app->encoder.self, &ev, out, len);
}

/* Waits while the outbox has more than max unpublished rows (the relay catches up); the time
 * waited is added to *waited. 0, or -1 when cancelled. */
static int cs_ops_wait_backlog(cs_ops_t *o, long long max, int64_t *waited)
{
    int64_t t0 = cs_ops_mono();
    for (;;) {
        if (atomic_load(&o->cancel))
            return -1;
        long long b = o->store.ops->backlog(o->store.self);
        if (b >= 0 && b <= max)
            break;
        cs_ops_sleep(b < 0 ? 500 : 20); /* -1: the database is away; the next batch says so */
        if (b < 0)
            break;
    }
    *waited += cs_ops_mono() - t0;
    return 0;
}

static void *cs_ops_job(void *arg)
{
    cs_ops_t *o = arg;
    cs_backfill_req_t rq = o->rq;
    char after[37] = "", err[256] = "";
    int64_t t0 = cs_ops_mono(), waited = 0;
    long long published = 0, batches = 0;
    const char *end = "succeeded";
    int failures = 0;
    for (;;) {
        if (cs_ops_wait_backlog(o, rq.max_backlog, &waited) != 0) {
            end = "cancelled";
            break;
        }
        snap_query_t q = {.after = after[0] ? after : NULL, .since_ms = rq.since_ms, .limit = rq.batch_size};
        snap_result_t r;
        memset(&r, 0, sizeof r);
        if (o->store.ops->publish(o->store.self, &q, cs_ops_encode, o, &r, err, sizeof err) != 0) {
            /* the database away for a moment: retried (the batch wrote nothing), up to 30 times */
            if (++failures >= 30) {
                end = "failed";
                break;
            }
            clog_warn(o->log, "backfill: batch after %s failed (retrying): %s",
                      after[0] ? after : "the start", err);
            cs_ops_sleep(1000);
            continue;
        }
        failures = 0;
        if (r.rows == 0)
            break;
        snprintf(after, sizeof after, "%s", r.last_id);
        published += r.rows;
        batches++;
        if (o->metrics != NULL)
            metrics_add(o->metrics, "customer_backfill_events_total", NULL, r.rows);
        pthread_mutex_lock(&o->mu);
        o->st.published = published;
        o->st.batches = batches;
        o->st.elapsed_ms = cs_ops_mono() - t0;
        o->st.backlog_wait_ms = waited;
        snprintf(o->st.last_id, sizeof o->st.last_id, "%s", after);
        pthread_mutex_unlock(&o->mu);
        if (atomic_load(&o->cancel)) {
            end = "cancelled";
            break;
        }
        if (rq.pause_ms > 0)
            cs_ops_sleep(rq.pause_ms);
    }
    int64_t elapsed = cs_ops_mono() - t0;
    pthread_mutex_lock(&o->mu);
    o->st.state = end;
    o->st.published = published;
    o->st.batches = batches;
    o->st.elapsed_ms = elapsed;
    o->st.backlog_wait_ms = waited;
    o->st.finished_ms = cs_ops_now(o);
    snprintf(o->st.error, sizeof o->st.error, "%s", strcmp(end, "failed") == 0 ? err : "");
    o->running = 0;
    pthread_mutex_unlock(&o->mu);
    if (o->metrics != NULL)
        metrics_set(o->metrics, "customer_backfill_running", NULL, 0);
    clog_ev(o->log, strcmp(end, "failed") == 0 ? CLOG_ERROR : CLOG_INFO,
            json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f}", "action", "backfill", "result", end, "events",
                      (json_int_t)published, "batches", (json_int_t)batches, "elapsedMs", (json_int_t)elapsed,
                      "backlogWaitMs", (json_int_t)waited, "eventsPerSecond",
                      elapsed > 0 ? (double)published * 1000.0 / (double)elapsed : 0.0),
            "backfill %s: %lld events in %lld ms%s%s", end, published, (long long)elapsed, err[0] ? ": " : "",
            strcmp(end, "failed") == 0 ? err : "");
    cs_ops_count(o, "backfill", strcmp(end, "failed") != 0);
    return NULL;
}

int cs_ops_backfill_start(cs_ops_t *o, const cs_backfill_req_t *rq)
{
    int rc = -1;
    pthread_mutex_lock(&o->mu);
    if (o->running) {
        rc = 0;
        goto cleanup;
    }
    if (o->has_thread) {
        pthread_join(o->thread, NULL);
        o->has_thread = 0;
    }
    o->rq = *rq;
    if (o->rq.batch_size <= 0)
        o->rq.batch_size = 500;
    if (o->rq.batch_size > 10000)
        o->rq.batch_size = 10000;
    if (o->rq.max_backlog <= 0)
        o->rq.max_backlog = 5000;
    if (o->rq.pause_ms < 0)
        o->rq.pause_ms = 0;
    o->rq.requester = NULL; /* not kept past the request */
    atomic_store(&o->cancel, 0);
    memset(&o->st, 0, sizeof o->st);
    o->st.state = "running";
    o->st.since_ms = o->rq.since_ms < 0 ? -1 : o->rq.since_ms;
    o->st.batch_size = o->rq.batch_size;
    o->st.max_backlog = o->rq.max_backlog;
    o->st.started_ms = cs_ops_now(o);
    o->running = 1;
    if (pthread_create(&o->thread, NULL, cs_ops_job, o) != 0) {
        o->running = 0;
        o->st.state = "failed";
        snprintf(o->st.error, sizeof o->st.error, "cannot start a thread");
        goto cleanup;
    }
    o->has_thread = 1;
    if (o->metrics != NULL)
        metrics_set(o->metrics, "customer_backfill_running", NULL, 1);
    clog_ev(o->log, CLOG_INFO,
            json_pack("{s:s,s:I,s:i,s:I,s:s?}", "action", "backfill", "sinceMs", (json_int_t)o->st.since_ms,
                      "batchSize", o->rq.batch_size, "maxBacklog", (json_int_t)o->rq.max_backlog,
                      "requestedBy", rq->requester),
            "backfill started (%s)",
            o->st.since_ms < 0 ? "every customer" : "customers changed since a time");
    rc = 1;
cleanup:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int cs_ops_backfill_cancel(cs_ops_t *o)
{
    pthread_mutex_lock(&o->mu);
    int running = o->running;
    if (running)
        atomic_store(&o->cancel, 1);
    pthread_mutex_unlock(&o->mu);
    if (running)
        clog_ev(o->log, CLOG_INFO, json_pack("{s:s}", "action", "backfill-cancel"),
                "backfill: cancel requested (stops after its batch)");
    cs_ops_count(o, "backfill-cancel", running);
    return running;
}

void cs_ops_backfill_status(cs_ops_t *o, cs_backfill_status_t *out)
{
    pthread_mutex_lock(&o->mu);
    *out = o->st; /* the job refreshes its figures after each batch */
    pthread_mutex_unlock(&o->mu);
}

app_rc_t cs_ops_backfill_ids(cs_ops_t *o, const char *const *ids, size_t n, int tombstones,
                             snap_result_t *out, char *detail, size_t dlen)
{
    char err[256] = "";
    memset(out, 0, sizeof *out);
    if (n == 0 || n > CS_BACKFILL_MAX_IDS) {
        snprintf(detail, dlen, "ids must list 1 to %d customer ids", CS_BACKFILL_MAX_IDS);
        return APP_INVALID;
    }
    for (size_t i = 0; i < n; i++)
        if (!uuidtext_valid(ids[i])) {
            snprintf(detail, dlen, "ids[%zu] is not a UUID", i);
            return APP_INVALID;
        }
    snap_query_t q = {.since_ms = -1, .ids = ids, .nids = n, .tombstones = tombstones};
    if (o->store.ops->publish(o->store.self, &q, cs_ops_encode, o, out, err, sizeof err) != 0) {
        snprintf(detail, dlen, "the database did not take the backfill: %s", err);
        clog_warn(o->log, "backfill of %zu ids failed: %s", n, err);
        cs_ops_count(o, "backfill-ids", 0);
        return APP_UNAVAILABLE;
    }
    if (o->metrics != NULL)
        metrics_add(o->metrics, "customer_backfill_events_total", NULL, out->rows + out->tombstones);
    clog_ev(o->log, CLOG_INFO,
            json_pack("{s:s,s:i,s:i,s:i}", "action", "backfill-ids", "asked", (int)n, "published", out->rows,
                      "tombstones", out->tombstones),
            "backfill of %zu ids: %d re-published, %d tombstones", n, out->rows, out->tombstones);
    cs_ops_count(o, "backfill-ids", 1);
    return APP_OK;
}

app_rc_t cs_ops_checksum(cs_ops_t *o, const char *from, const char *to, snap_sum_t *out, snap_sum_row_t *rows,
                         int cap, int *nrows, char *detail, size_t dlen)
{
    char err[256] = "";
    if ((from != NULL && !uuidtext_valid(from)) || (to != NULL && !uuidtext_valid(to))) {
        snprintf(detail, dlen, "%s must be a customer id (UUID)",
                 from != NULL && !uuidtext_valid(from) ? "from" : "to");
        return APP_INVALID;
    }
    if (o->store.ops->checksum(o->store.self, from, to, out, rows, cap, nrows, err, sizeof err) != 0) {
        snprintf(detail, dlen, "the checksum failed: %s", err);
        cs_ops_count(o, "checksum", 0);
        return APP_UNAVAILABLE;
    }
    cs_ops_count(o, "checksum", 1); /* counted, not logged: the reconciliation asks often */
    return APP_OK;
}

void cs_ops_free(cs_ops_t *o)
{
    if (o == NULL)
        return;
    atomic_store(&o->cancel, 1);
    if (o->has_thread)
        pthread_join(o->thread, NULL);
    pthread_mutex_destroy(&o->mu);
    free(o);
}
