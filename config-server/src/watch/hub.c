/* hub.c — held watch requests per loop thread: groups, deadlines, change messages and the
 * drain (hub.h). Everything of a hub_thread_t is touched on its own loop thread only,
 * except `pending` and `active` (the notifier's side, under hub->mu / atomically). */
#include "watch/hub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HUB_MAX_THREADS 64
#define HUB_BUCKETS 256
#define HUB_TICK_MS 50

typedef struct hub_thread hub_thread_t;
typedef struct hub_group hub_group_t;

typedef struct hub_waiter {
    h2o_req_t *req;
    hub_thread_t *t;
    hub_group_t *g;
    struct hub_waiter *gprev, *gnext; /* the group's waiters */
    struct hub_waiter *dprev, *dnext; /* the thread's waiters by deadline */
    uint64_t deadline;                /* loop time (ms) */
    int linked;
} hub_waiter_t;

struct hub_group {
    hub_group_t *next; /* bucket chain */
    uint64_t hash;
    char *gkey; /* owned */
    char etag[40];
    void *q; /* owned copy of the query */
    hub_waiter_t *first;
    long n;
};

struct hub_thread {
    cs_hub_t *hub;
    h2o_context_t *hctx;
    h2o_multithread_receiver_t receiver;
    h2o_multithread_message_t msg;
    atomic_int pending; /* msg sent and not yet taken */
    int active;         /* under hub->mu: messages may be sent */
    int draining;
    h2o_timeout_t tick;
    h2o_timeout_entry_t tick_ent;
    hub_group_t *buckets[HUB_BUCKETS];
    hub_waiter_t *dhead, *dtail;
};

struct cs_hub {
    const cs_hub_ops_t *ops;
    void *ctx;
    const clog_t *log;
    pthread_mutex_t mu; /* the thread table and each thread's `active` */
    _Atomic(hub_thread_t *) th[HUB_MAX_THREADS];
    atomic_long waiters;
};

static uint64_t fnv1a2(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *s = b; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

cs_hub_t *cs_hub_new(const cs_hub_ops_t *ops, void *ctx, const clog_t *log)
{
    cs_hub_t *hub = calloc(1, sizeof(*hub));
    if (hub == NULL)
        return NULL;
    hub->ops = ops;
    hub->ctx = ctx;
    hub->log = log;
    pthread_mutex_init(&hub->mu, NULL);
    for (int i = 0; i < HUB_MAX_THREADS; i++)
        atomic_init(&hub->th[i], NULL);
    atomic_init(&hub->waiters, 0);
    return hub;
}

void cs_hub_free(cs_hub_t *hub)
{
    if (hub == NULL)
        return;
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

long cs_hub_waiters(const cs_hub_t *hub)
{
    return hub != NULL ? atomic_load(&((cs_hub_t *)hub)->waiters) : 0;
}

static hub_thread_t *find_thread(cs_hub_t *hub, const h2o_context_t *hctx)
{
    for (int i = 0; i < HUB_MAX_THREADS; i++) {
        hub_thread_t *t = atomic_load_explicit(&hub->th[i], memory_order_acquire);
        if (t != NULL && t->hctx == hctx)
            return t;
    }
    return NULL;
}

/* ---------------------------------------------------------------- waiters */

static void group_free(hub_thread_t *t, hub_group_t *g)
{
    hub_group_t **pp = &t->buckets[g->hash % HUB_BUCKETS];
    while (*pp != NULL && *pp != g)
        pp = &(*pp)->next;
    if (*pp == g)
        *pp = g->next;
    free(g->gkey);
    free(g);
}

/* Takes `w` out of its group and the deadline list; frees the group when it empties
 * unless `keep_group`. */
static void waiter_unlink(hub_waiter_t *w, int keep_group)
{
    if (!w->linked)
        return;
    hub_thread_t *t = w->t;
    hub_group_t *g = w->g;
    if (w->gprev != NULL)
        w->gprev->gnext = w->gnext;
    else
        g->first = w->gnext;
    if (w->gnext != NULL)
        w->gnext->gprev = w->gprev;
    if (w->dprev != NULL)
        w->dprev->dnext = w->dnext;
    else
        t->dhead = w->dnext;
    if (w->dnext != NULL)
        w->dnext->dprev = w->dprev;
    else
        t->dtail = w->dprev;
    w->linked = 0;
    atomic_fetch_sub(&t->hub->waiters, 1);
    if (--g->n == 0 && !keep_group)
        group_free(t, g);
}

/* The request's pool is being cleared (answered, or the connection is gone). */
static void waiter_dispose(void *p)
{
    waiter_unlink(p, 0);
}

static void on_tick(h2o_timeout_entry_t *ent)
{
    hub_thread_t *t = H2O_STRUCT_FROM_MEMBER(hub_thread_t, tick_ent, ent);
    uint64_t now = h2o_now(t->hctx->loop);
    while (t->dhead != NULL && t->dhead->deadline <= now) {
        hub_waiter_t *w = t->dhead;
        char etag[40];
        memcpy(etag, w->g->etag, sizeof(etag));
        waiter_unlink(w, 0);
        t->hub->ops->expire(t->hub->ctx, w->req, etag);
    }
    if (t->dhead != NULL && !h2o_timeout_is_linked(&t->tick_ent))
        h2o_timeout_link(t->hctx->loop, &t->tick, &t->tick_ent);
}

int cs_hub_hold(cs_hub_t *hub, h2o_req_t *req, const char *gkey, const char *etag, uint64_t wait_ms)
{
    hub_thread_t *t = find_thread(hub, req->conn->ctx);
    if (t == NULL || t->draining)
        return 0;
    uint64_t h = fnv1a2(gkey, etag);
    hub_group_t *g = t->buckets[h % HUB_BUCKETS];
    while (g != NULL && !(g->hash == h && strcmp(g->gkey, gkey) == 0 && strcmp(g->etag, etag) == 0))
        g = g->next;
    if (g == NULL) {
        g = calloc(1, sizeof(*g));
        if (g == NULL || (g->gkey = strdup(gkey)) == NULL) {
            free(g);
            return 0;
        }
        g->hash = h;
        snprintf(g->etag, sizeof(g->etag), "%s", etag);
        g->next = t->buckets[h % HUB_BUCKETS];
        t->buckets[h % HUB_BUCKETS] = g;
    }
    hub_waiter_t *w = h2o_mem_alloc_shared(&req->pool, sizeof(*w), waiter_dispose);
    memset(w, 0, sizeof(*w));
    w->req = req;
    w->t = t;
    w->g = g;
    w->deadline = h2o_now(t->hctx->loop) + wait_ms;
    w->gnext = g->first;
    if (g->first != NULL)
        g->first->gprev = w;
    g->first = w;
    g->n++;
    /* deadline order: most waits are alike, so the new one usually goes last */
    hub_waiter_t *after = t->dtail;
    while (after != NULL && after->deadline > w->deadline)
        after = after->dprev;
    w->dprev = after;
    w->dnext = after != NULL ? after->dnext : t->dhead;
    if (w->dnext != NULL)
        w->dnext->dprev = w;
    else
        t->dtail = w;
    if (after != NULL)
        after->dnext = w;
    else
        t->dhead = w;
    w->linked = 1;
    atomic_fetch_add(&hub->waiters, 1);
    if (!h2o_timeout_is_linked(&t->tick_ent))
        h2o_timeout_link(t->hctx->loop, &t->tick, &t->tick_ent);
    return HTTPD_LATER;
}

/* ---------------------------------------------------------------- changes */

/* Re-checks every group of `t`; answers the waiters of those whose answer changed. */
static void recheck_all(hub_thread_t *t)
{
    cs_hub_t *hub = t->hub;
    long woken = 0, groups = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t b = 0; b < HUB_BUCKETS; b++) {
        hub_group_t *g = t->buckets[b];
        while (g != NULL) {
            hub_group_t *next = g->next;
            groups++;
            void *st = hub->ops->recheck(hub->ctx, g->gkey, g->etag);
            if (st != NULL) {
                while (g->first != NULL) {
                    hub_waiter_t *w = g->first;
                    waiter_unlink(w, 1);
                    hub->ops->send(hub->ctx, st, w->req);
                    woken++;
                }
                hub->ops->done(hub->ctx, st);
                group_free(t, g);
            }
            g = next;
        }
    }
    if (woken > 0 && hub->log != NULL) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        json_int_t us = (json_int_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
        clog_ev(
            hub->log, CLOG_INFO,
            json_pack("{s:I,s:I,s:I}", "answered", (json_int_t)woken, "groups", (json_int_t)groups, "us", us),
            "watch: %ld held request(s) answered after a change", woken);
    }
}

static void on_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hub_thread_t *t = H2O_STRUCT_FROM_MEMBER(hub_thread_t, receiver, receiver);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    atomic_store(&t->pending, 0); /* a change from now on sends again */
    if (!t->draining)
        recheck_all(t);
}

void cs_hub_notify(void *arg)
{
    cs_hub_t *hub = arg;
    pthread_mutex_lock(&hub->mu);
    for (int i = 0; i < HUB_MAX_THREADS; i++) {
        hub_thread_t *t = atomic_load(&hub->th[i]);
        if (t != NULL && t->active && atomic_exchange(&t->pending, 1) == 0)
            h2o_multithread_send_message(&t->receiver, &t->msg);
    }
    pthread_mutex_unlock(&hub->mu);
}

/* ---------------------------------------------------------------- the loop hook */

static void thread_start(cs_hub_t *hub, h2o_context_t *hctx)
{
    hub_thread_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        if (hub->log != NULL)
            clog_error(hub->log, "watch: out of memory; requests on one loop thread will not be held");
        return;
    }
    t->hub = hub;
    t->hctx = hctx;
    atomic_init(&t->pending, 0);
    t->msg.link = (h2o_linklist_t){NULL, NULL}; /* not linked */
    h2o_timeout_init(hctx->loop, &t->tick, HUB_TICK_MS);
    t->tick_ent.cb = on_tick;
    h2o_multithread_register_receiver(hctx->queue, &t->receiver, on_message);
    pthread_mutex_lock(&hub->mu);
    for (int i = 0; i < HUB_MAX_THREADS; i++)
        if (atomic_load(&hub->th[i]) == NULL) {
            t->active = 1;
            atomic_store_explicit(&hub->th[i], t, memory_order_release);
            break;
        }
    pthread_mutex_unlock(&hub->mu);
    if (!t->active) { /* more loop threads than slots: cannot happen with httpd's 64 */
        h2o_multithread_unregister_receiver(hctx->queue, &t->receiver);
        h2o_timeout_dispose(hctx->loop, &t->tick);
        free(t);
    }
}

static void thread_drain(cs_hub_t *hub, hub_thread_t *t)
{
    pthread_mutex_lock(&hub->mu);
    t->active = 0;
    pthread_mutex_unlock(&hub->mu);
    t->draining = 1;
    long n = 0;
    while (t->dhead != NULL) {
        hub_waiter_t *w = t->dhead;
        char etag[40];
        memcpy(etag, w->g->etag, sizeof(etag));
        waiter_unlink(w, 0);
        hub->ops->expire(hub->ctx, w->req, etag);
        n++;
    }
    if (n > 0 && hub->log != NULL)
        clog_info(hub->log, "watch: %ld held request(s) answered 304 at shutdown", n);
}

static void thread_stop(cs_hub_t *hub, hub_thread_t *t)
{
    /* a message sent before the drain must be taken before the receiver goes */
    for (int i = 0; i < 200 && atomic_load(&t->pending); i++)
        h2o_evloop_run(t->hctx->loop, 1);
    pthread_mutex_lock(&hub->mu);
    for (int i = 0; i < HUB_MAX_THREADS; i++)
        if (atomic_load(&hub->th[i]) == t)
            atomic_store(&hub->th[i], NULL);
    pthread_mutex_unlock(&hub->mu);
    if (!atomic_load(&t->pending))
        h2o_multithread_unregister_receiver(t->hctx->queue, &t->receiver);
    while (t->dhead != NULL) /* connections the drain could not close: forget them */
        waiter_unlink(t->dhead, 0);
    if (h2o_timeout_is_linked(&t->tick_ent))
        h2o_timeout_unlink(&t->tick_ent);
    h2o_timeout_dispose(t->hctx->loop, &t->tick);
    if (!atomic_load(&t->pending))
        free(t);
}

void cs_hub_loop(void *arg, h2o_context_t *hctx, httpd_loop_phase_t phase)
{
    cs_hub_t *hub = arg;
    if (phase == HTTPD_LOOP_START) {
        thread_start(hub, hctx);
        return;
    }
    hub_thread_t *t = find_thread(hub, hctx);
    if (t == NULL)
        return;
    if (phase == HTTPD_LOOP_DRAIN)
        thread_drain(hub, t);
    else
        thread_stop(hub, t);
}
