/* reconcile.c — the live reconciliation: ranges, bisection, settling, repair, the thread.
 * See reconcile.h. */
#include "application/reconcile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An id as a 128-bit number (uuid order is the order of these numbers). */
typedef unsigned __int128 rc_u128;

/* A candidate of step 1, with the write side's row as it was then. */
typedef struct rc_cand {
    char id[37];
    int remote_present;
    long long remote_version;
    char remote_hash[OS_RC_HASH];
} rc_cand_t;

struct os_reconciler {
    os_reconcile_opts_t o;
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kick;           /* under mu */
    os_reconcile_status_t st; /* under mu: the last round's */
    int running;              /* under mu */
    /* the round's (its thread only): */
    os_sum_row_t *lrows, *rrows;
    rc_cand_t *cands;
    int ncands, overflow;
    long long compared;
    char err[300];
};

static int64_t rc_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t rc_wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits up to ms unless stopped (or, with `kickable`, kicked): 1 when stopped. */
static int rc_wait(os_reconciler_t *r, long ms, int kickable)
{
    struct timespec until;
    int stopped;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->stop && !(kickable && r->kick))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
            break;
    if (kickable)
        r->kick = 0;
    stopped = r->stop;
    pthread_mutex_unlock(&r->mu);
    return stopped;
}

static void rc_format(rc_u128 v, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    char d[32];
    for (int i = 31; i >= 0; i--, v >>= 4)
        d[i] = hex[(unsigned)(v & 15)];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", d, d + 8, d + 12, d + 16, d + 20);
}

/* The number of a uuid text (dashes skipped); 0 for anything else (not reached: ids come
 * from the databases). */
static rc_u128 rc_parse(const char *id)
{
    rc_u128 v = 0;
    for (const char *p = id; *p != '\0'; p++) {
        int c = *p;
        if (c == '-')
            continue;
        v = (v << 4) | (rc_u128)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* The candidate list: ids that differed in step 1, with the write side's row then. */
static void rc_add(os_reconciler_t *r, const char *id, const os_sum_row_t *remote)
{
    if (r->ncands >= OS_RC_MAX_DRIFT) {
        r->overflow++;
        return;
    }
    rc_cand_t *c = &r->cands[r->ncands++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    if (remote != NULL) {
        c->remote_present = 1;
        c->remote_version = remote->version;
        snprintf(c->remote_hash, sizeof c->remote_hash, "%s", remote->hash);
    }
}

/* Both sides' sums of [from, to), throttled: 0, or -1 (r->err). With rows, the lists too. */
static int rc_sums(os_reconciler_t *r, const char *from, const char *to, os_sum_t *l, os_sum_t *w, int list,
                   int *nl, int *nw)
{
    char e[256];
    int cap = list ? r->o.leaf : 0;
    if (r->o.readmodel.checksum(r->o.readmodel.self, from, to, l, list ? r->lrows : NULL, cap, nl, e,
                                sizeof e) != 0) {
        snprintf(r->err, sizeof r->err, "read model: %s", e);
        return -1;
    }
    if (r->o.writeside.checksum(r->o.writeside.self, from, to, w, list ? r->rrows : NULL, cap, nw, e,
                                sizeof e) != 0) {
        snprintf(r->err, sizeof r->err, "write side: %s", e);
        return -1;
    }
    long long hashed = l->count + w->count;
    r->compared += hashed;
    metrics_add(r->o.metrics, "order_reconciliation_rows_compared_total", NULL, (double)hashed);
    /* the budget: each side hashed about half of `hashed` */
    long pause = (long)(hashed * 500 / r->o.rows_per_s);
    if (pause > 0 && rc_wait(r, pause, 0)) {
        snprintf(r->err, sizeof r->err, "stopped");
        return -1;
    }
    return 0;
}

/* Step 1 on [lo, hi) (hi_open: to the end of the id space). 0 or -1. */
static int rc_compare(os_reconciler_t *r, rc_u128 lo, int lo_open, rc_u128 hi, int hi_open, int depth)
{
    char from[37], to[37];
    os_sum_t l, w;
    int nl = 0, nw = 0;
    rc_format(lo, from);
    rc_format(hi, to);
    const char *f = lo_open ? NULL : from, *t = hi_open ? NULL : to;
    if (rc_sums(r, f, t, &l, &w, 0, NULL, NULL) != 0)
        return -1;
    if (l.count == w.count && strcmp(l.hash, w.hash) == 0)
        return 0;
    if ((l.count <= r->o.leaf && w.count <= r->o.leaf) || depth >= 120) {
        if (rc_sums(r, f, t, &l, &w, 1, &nl, &nw) != 0)
            return -1;
        int i = 0, j = 0;
        while (i < nl || j < nw) { /* both lists in id order */
            int c = i >= nl ? 1 : j >= nw ? -1 : strcmp(r->lrows[i].id, r->rrows[j].id);
            if (c < 0) {
                rc_add(r, r->lrows[i++].id, NULL); /* only in the read model */
            } else if (c > 0) {
                rc_add(r, r->rrows[j].id, &r->rrows[j]); /* only on the write side */
                j++;
            } else {
                if (strcmp(r->lrows[i].hash, r->rrows[j].hash) != 0)
                    rc_add(r, r->rrows[j].id, &r->rrows[j]);
                i++;
                j++;
            }
        }
        return 0;
    }
    /* halve [lo, hi): the open end counts as the last id */
    rc_u128 top = hi_open ? ~(rc_u128)0 : hi;
    rc_u128 mid = lo / 2 + top / 2 + (lo & top & 1);
    if (mid == lo) /* a range of one or two ids cannot hold more than leaf rows: not reached */
        return 0;
    if (rc_compare(r, lo, lo_open, mid, 0, depth + 1) != 0)
        return -1;
    return rc_compare(r, mid, 0, hi, hi_open, depth + 1);
}

/* Step 2: is candidate c still different, with the write side's row unchanged? 1 drift, 0
 * not (caught up, or in flux), -1 failure. */
static int rc_recheck(os_reconciler_t *r, const rc_cand_t *c)
{
    char next[37];
    os_sum_t l, w;
    int nl = 0, nw = 0;
    rc_format(rc_parse(c->id) + 1, next);
    if (rc_sums(r, c->id, next, &l, &w, 1, &nl, &nw) != 0)
        return -1;
    if (l.count == w.count && strcmp(l.hash, w.hash) == 0)
        return 0; /* caught up */
    if (nw != (c->remote_present ? 1 : 0))
        return 0; /* created or deleted meanwhile: in flux */
    if (nw == 1 &&
        (r->rrows[0].version != c->remote_version || strcmp(r->rrows[0].hash, c->remote_hash) != 0))
        return 0; /* changed meanwhile */
    return 1;
}

/* Step 3 for the drifted ids. 0 or -1 (r->err). */
static int rc_repair(os_reconciler_t *r, const char (*ids)[37], int n, int *repaired)
{
    char e[256];
    const char **v = calloc((size_t)n, sizeof *v);
    int published = 0, tombstones = 0, rc = -1;
    if (v == NULL) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        v[i] = ids[i];
    if (r->o.reset.reset(r->o.reset.self, v, (size_t)n, e, sizeof e) != 0) {
        snprintf(r->err, sizeof r->err, "repair: read model: %s", e);
        goto cleanup;
    }
    if (r->o.republish.republish(r->o.republish.self, v, (size_t)n, &published, &tombstones, e, sizeof e) !=
        0) {
        snprintf(r->err, sizeof r->err, "repair: write side: %s", e);
        goto cleanup;
    }
    *repaired = n;
    metrics_add(r->o.metrics, "order_reconciliation_repairs_total", NULL, n);
    clog_ev(
        r->o.log, CLOG_WARN,
        json_pack("{s:s,s:i,s:i,s:i}", "action", "reconciliation-repair", "ids", n, "published", published,
                  "tombstones", tombstones),
        "reconciliation: repair: %d row(s) reset in the read model, %d published again and %d tombstone(s) "
        "by the write side",
        n, published, tombstones);
    rc = 0;
cleanup:
    free(v);
    return rc;
}

int os_reconcile_round(os_reconciler_t *r, os_reconcile_status_t *out)
{
    int64_t t0 = rc_mono_ms();
    int rc = -1;
    os_sum_t l, w;
    memset(out, 0, sizeof *out);
    r->ncands = r->overflow = 0;
    r->compared = 0;
    r->err[0] = '\0';
    /* the write side's size, for the status (and an early failure when a side is away) */
    if (rc_sums(r, NULL, NULL, &l, &w, 0, NULL, NULL) != 0)
        goto cleanup;
    out->rows = w.count;
    if (l.count != w.count || strcmp(l.hash, w.hash) != 0) {
        for (unsigned d = 0; d < 16; d++) {
            rc_u128 lo = (rc_u128)d << 124, hi = (rc_u128)(d + 1) << 124;
            if (rc_compare(r, lo, d == 0, hi, d == 15, 0) != 0)
                goto cleanup;
        }
    }
    if (r->ncands > 0 && r->o.settle_ms > 0 && rc_wait(r, r->o.settle_ms, 0)) {
        snprintf(r->err, sizeof r->err, "stopped");
        goto cleanup;
    }
    for (int i = 0; i < r->ncands; i++) {
        int d = rc_recheck(r, &r->cands[i]);
        if (d < 0)
            goto cleanup;
        if (d == 1 && out->ndrift < OS_RC_MAX_DRIFT)
            snprintf(out->ids[out->ndrift++], 37, "%s", r->cands[i].id);
    }
    out->drift = out->ndrift + r->overflow;
    if (out->ndrift > 0) {
        clog_ev(
            r->o.log, CLOG_WARN,
            json_pack("{s:s,s:i,s:s}", "action", "reconciliation", "drift", out->drift, "first", out->ids[0]),
            "reconciliation: %d customer(s) differ between the read model and the write side (first %s)",
            out->drift, out->ids[0]);
        if (r->o.repair && rc_repair(r, (const char(*)[37])out->ids, out->ndrift, &out->repaired) != 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    out->rounds = 1;
    out->compared = r->compared;
    out->last_end_ms = rc_wall_ms();
    out->last_duration_ms = rc_mono_ms() - t0;
    snprintf(out->error, sizeof out->error, "%s", rc == 0 ? "" : r->err);
    if (rc != 0)
        clog_warn(r->o.log, "reconciliation: round failed: %s", r->err);
    return rc;
}

static void *rc_main(void *arg)
{
    os_reconciler_t *r = arg;
    os_reconcile_status_t *st = malloc(sizeof *st);
    if (st == NULL)
        return NULL;
    while (!rc_wait(r, r->o.interval_ms, 1)) {
        pthread_mutex_lock(&r->mu);
        r->running = 1;
        pthread_mutex_unlock(&r->mu);
        int rc = os_reconcile_round(r, st);
        if (rc != 0 && strcmp(st->error, "stopped") == 0)
            break;
        metrics_add(r->o.metrics, "order_reconciliation_rounds_total",
                    rc != 0         ? "result=\"failed\""
                    : st->drift > 0 ? "result=\"drift\""
                                    : "result=\"clean\"",
                    1);
        if (rc == 0) {
            metrics_set(r->o.metrics, "order_reconciliation_drift", NULL, st->drift);
            metrics_set(r->o.metrics, "order_reconciliation_last_success_timestamp_seconds", NULL,
                        (double)st->last_end_ms / 1000.0);
        }
        pthread_mutex_lock(&r->mu);
        st->rounds = r->st.rounds + 1;
        if (rc != 0) { /* keep what the last good round found, with the failure */
            snprintf(r->st.error, sizeof r->st.error, "%s", st->error);
            r->st.rounds = st->rounds;
        } else {
            memcpy(&r->st, st, sizeof *st);
        }
        r->running = 0;
        pthread_mutex_unlock(&r->mu);
    }
    free(st);
    return NULL;
}

os_reconciler_t *os_reconciler_new(const os_reconcile_opts_t *o)
{
    os_reconciler_t *r = calloc(1, sizeof *r);
    pthread_condattr_t ca;
    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->o = *o;
    if (r->o.interval_ms <= 0)
        r->o.interval_ms = 60000;
    if (r->o.rows_per_s <= 0)
        r->o.rows_per_s = 100000;
    if (r->o.settle_ms < 0)
        r->o.settle_ms = 5000;
    if (r->o.leaf <= 0)
        r->o.leaf = 200;
    r->lrows = calloc((size_t)r->o.leaf, sizeof *r->lrows);
    r->rrows = calloc((size_t)r->o.leaf, sizeof *r->rrows);
    r->cands = calloc(OS_RC_MAX_DRIFT, sizeof *r->cands);
    if (r->lrows == NULL || r->rrows == NULL || r->cands == NULL) {
        os_reconciler_free(r);
        return NULL;
    }
    metrics_t *m = r->o.metrics;
    metrics_declare(m, "order_reconciliation_rounds_total", METRICS_COUNTER,
                    "Reconciliation rounds, by result (clean, drift, failed).", NULL, 0);
    metrics_declare(m, "order_reconciliation_drift", METRICS_GAUGE,
                    "Customers that differ between the read model and the write side (last round).", NULL, 0);
    metrics_declare(m, "order_reconciliation_rows_compared_total", METRICS_COUNTER,
                    "Rows hashed by the reconciliation (both sides).", NULL, 0);
    metrics_declare(m, "order_reconciliation_repairs_total", METRICS_COUNTER,
                    "Customers the reconciliation's repair asked the write side to publish again.", NULL, 0);
    metrics_declare(m, "order_reconciliation_last_success_timestamp_seconds", METRICS_GAUGE,
                    "When the last round that completed ended.", NULL, 0);
    return r;
}

int os_reconciler_start(os_reconciler_t *r)
{
    if (pthread_create(&r->th, NULL, rc_main, r) != 0)
        return -1;
    r->started = 1;
    return 0;
}

void os_reconciler_kick(os_reconciler_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->kick = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void os_reconciler_stop(os_reconciler_t *r)
{
    if (r == NULL || !r->started)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    r->started = 0;
}

void os_reconciler_free(os_reconciler_t *r)
{
    if (r == NULL)
        return;
    os_reconciler_stop(r);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->lrows);
    free(r->rrows);
    free(r->cands);
    free(r);
}

void os_reconciler_status(os_reconciler_t *r, os_reconcile_status_t *out)
{
    pthread_mutex_lock(&r->mu);
    memcpy(out, &r->st, sizeof *out);
    out->running = r->running;
    pthread_mutex_unlock(&r->mu);
}
