/* hub.h — the held requests of the watch API (long polls) on httpd's event loops.
 *
 * A request whose answer has not changed since the client's If-None-Match is held: no
 * thread waits for it, it is a small record in the request's own memory pool, linked into
 * its loop thread's tables:
 *   - a group per (query key, ETag): the waiters that would get the same answer;
 *   - a list by deadline (a timer every 50 ms answers those whose wait ended: 304).
 * When the repository changes (cs_hub_notify, from the watcher or the git fetcher) each
 * loop thread is sent one message; on it the thread re-evaluates each of its groups once
 * (ops->recheck, which reads the memoised answer of the new snapshot) and answers only
 * the waiters of the groups whose answer changed — an edit of another application's file
 * wakes nobody. A client that goes away is forgotten when h2o disposes of its request.
 * When httpd stops (HTTPD_LOOP_DRAIN) every held request is answered at once (304), so
 * clients re-poll another replica instead of waiting for the drain deadline.
 *
 * Threads: cs_hub_loop is httpd's loop hook; cs_hub_hold runs in a handler on a loop
 * thread; cs_hub_notify from any thread; cs_hub_waiters from any thread.
 */
#ifndef CS_HUB_H
#define CS_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "clog.h"
#include "httpd.h"

typedef struct cs_hub cs_hub_t;

typedef struct cs_hub_ops {
    /* Re-evaluates the query named `gkey` (as given to cs_hub_hold) of a group held at
     * `etag`. NULL when the answer is still `etag`; else a state that send() gets for each
     * waiter of the group, then done(). */
    void *(*recheck)(void *ctx, const char *gkey, const char *etag);
    void (*send)(void *ctx, void *state, h2o_req_t *req);
    void (*done)(void *ctx, void *state);
    /* Answers a waiter whose wait ended, or any waiter when the server stops: 304. */
    void (*expire)(void *ctx, h2o_req_t *req, const char *etag);
} cs_hub_ops_t;

/* A hub calling `ops` with `ctx` (both borrowed). NULL on out of memory. */
cs_hub_t *cs_hub_new(const cs_hub_ops_t *ops, void *ctx, const clog_t *log);
/* Frees the hub; httpd must have stopped (every loop thread passed HTTPD_LOOP_STOP) and
 * nothing may call cs_hub_notify any more. NULL-safe. */
void cs_hub_free(cs_hub_t *hub);

/* httpd's loop hook (opts.loop_hook = cs_hub_loop, loop_ctx = the hub). */
void cs_hub_loop(void *hub, h2o_context_t *hctx, httpd_loop_phase_t phase);
/* The repository changed: every loop thread re-checks its groups. Any thread; cheap. */
void cs_hub_notify(void *hub);

/* Holds `req` (from a handler on a loop thread) until the answer of the query `gkey` (a
 * string that says all of it, copied once per group) is no longer `etag`, or `wait_ms` passed.
 * Returns HTTPD_LATER (return it from the handler), or 0 when it cannot hold (the server
 * is stopping, out of memory): then answer at once. */
int cs_hub_hold(cs_hub_t *hub, h2o_req_t *req, const char *gkey, const char *etag, uint64_t wait_ms);

/* The requests held now (all threads). */
long cs_hub_waiters(const cs_hub_t *hub);

#endif
