/* httpd.h — the HTTP server glue shared by the three programs (h2o 2.2.5, evloop).
 *
 * One httpd_t = one listening socket on host:port served by N event-loop threads (the
 * listening fd is dup()ed into each thread, as h2o's own server does). Requests are
 * dispatched to routes (method + path prefix) registered before httpd_start; a route
 * handler runs on a loop thread and must answer synchronously with one of the
 * httpd_send* helpers (they always set content_length, so keep-alive survives non-200s).
 *
 * Routing: a route prefix "/customers" matches "/customers" and "/customers/…" (segment
 * boundary); "/" matches everything. The longest matching prefix wins; when it exists but
 * not for the request's method the answer is 405 with an Allow header; no prefix → 404.
 * HEAD is routed like GET. All error answers are application/problem+json
 * {"type","title","status","detail"}.
 *
 * Shutdown (the pattern tested in docs/c-notes.md §2): call httpd_block_signals() in main
 * BEFORE any thread is created (rdkafka, libpq, ours), start, then either
 * httpd_run_until_signal() or httpd_wait_signal() + your own teardown + httpd_stop().
 * httpd_stop stops accepting, lets in-flight requests finish, closes idle keep-alive
 * connections, waits up to `drain_ms` for the connections to go, joins the threads.
 *
 * Thread-safety: routes and options are read-only after httpd_start; handlers run
 * concurrently on the loop threads, so whatever `ctx` they share must be thread-safe.
 */
#ifndef CQ_HTTPD_H
#define CQ_HTTPD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>

#include "clog.h"

typedef struct httpd httpd_t;

/* A route handler. `ctx` is the pointer given at registration (borrowed). Must answer
 * (httpd_send*) and return 0; returning -1 without answering makes httpd answer 500. */
typedef int (*httpd_handler_fn)(void *ctx, h2o_req_t *req);

/* Called once per request after its handler returned, on the loop thread: `route` is the
 * label given at registration ("unmatched" for 404/405), `status` the response status,
 * `duration_us` the time spent from dispatch to the handler's return. */
typedef void (*httpd_observe_fn)(void *ctx, const char *route, const h2o_req_t *req, int status,
                                 uint64_t duration_us);

typedef struct httpd_opts {
    const char *host;         /* bind address; NULL → "0.0.0.0" */
    int port;                 /* 0 → an ephemeral port (read it back with httpd_port) */
    int threads;              /* event-loop threads; <= 0 → 1 */
    size_t max_body;          /* bigger request bodies get 413 problem+json; 0 → 1 MiB */
    int drain_ms;             /* httpd_stop's deadline for in-flight work; 0 → 5000 */
    int idle_timeout_ms;      /* keep-alive idle / request read timeout; 0 → 10000 */
    const char *server_name;  /* "Server:" header; NULL or "" → no Server header */
    const clog_t *log;        /* borrowed, may be NULL */
    httpd_observe_fn observe; /* optional per-request hook (metrics, access log) */
    void *observe_ctx;
    int adopt_fd; /* > 0: serve this already-listening TCP socket (one a previous image of the
                     process kept open across exec, httpd_keep_listener) instead of binding
                     host:port. Owned by the server: httpd_start adopts it (or closes it when
                     it is no listening TCP socket), httpd_free closes it if never started */
} httpd_opts_t;

/* Creates a server (not yet listening). `opts` is copied (its strings are borrowed and
 * must outlive the server). Returns NULL and fills `err` on failure. */
httpd_t *httpd_new(const httpd_opts_t *opts, char *err, size_t errlen);

/* Registers a route before httpd_start. `method` "GET", "POST", … or NULL for any method;
 * `prefix` starts with '/'; `label` names the route in the observe hook (NULL → prefix).
 * A single dispatch callback for everything is httpd_route(s, NULL, "/", "all", fn, ctx).
 * The strings are copied. Returns 0, or -1 (too many routes / started already). */
int httpd_route(httpd_t *s, const char *method, const char *prefix, const char *label, httpd_handler_fn fn,
                void *ctx);

/* Binds, listens and starts the loop threads. Returns 0, or -1 with `err` filled. */
int httpd_start(httpd_t *s, char *err, size_t errlen);
/* The port actually bound (useful with port 0), or -1 before start. */
int httpd_port(const httpd_t *s);

/* Stops accepting, drains (see top), joins the threads. Idempotent; safe before start. */
void httpd_stop(httpd_t *s);
/* Call before httpd_stop to keep the listening socket open past it (a restart in place
 * hands it to the next image of the process, which adopts it with opts.adopt_fd): returns
 * its fd, from now on the caller's (FD_CLOEXEC still set: clear it just before exec), or -1
 * when the server is not listening. httpd_stop still stops accepting and drains; clients
 * that connect in between wait in the socket's backlog instead of being refused. */
int httpd_keep_listener(httpd_t *s);
/* Stops if needed and frees. NULL-safe. */
void httpd_free(httpd_t *s);

/* Blocks SIGTERM and SIGINT in the calling thread (and every thread it creates later).
 * Call first thing in main. Returns 0 or -1. */
int httpd_block_signals(void);
/* Waits for SIGTERM or SIGINT (which must be blocked); returns the signal number. */
int httpd_wait_signal(void);
/* httpd_wait_signal() then httpd_stop(s). Returns the signal number. */
int httpd_run_until_signal(httpd_t *s);

/* ---- response helpers (call from a handler, on the loop thread) ---- */

/* Sends `len` bytes of `body` (copied) with `status` and `content_type` (may be NULL);
 * sets content_length. Returns 0. */
int httpd_send(h2o_req_t *req, int status, const char *content_type, const void *body, size_t len);
/* Sends `json` (STOLEN: decref'ed here, NULL → 500) as application/json. Returns 0. */
int httpd_send_json(h2o_req_t *req, int status, json_t *json);
/* Sends application/problem+json {"type":"about:blank","title","status","detail"}. Returns 0. */
int httpd_send_problem(h2o_req_t *req, int status, const char *title, const char *detail_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a response header before sending; name and value are copied into the request pool. */
void httpd_add_header(h2o_req_t *req, const char *name, const char *value);

/* ---- request helpers ---- */

/* The request path without the query string, raw (not percent-decoded), as pool memory
 * NUL-terminated. Borrowed: valid until the request ends. */
const char *httpd_path(h2o_req_t *req);
/* The raw query string (after '?', not decoded) or "" — pool memory, borrowed. */
const char *httpd_query(h2o_req_t *req);
/* The value of request header `name` (case-insensitive) as pool memory, or NULL. */
const char *httpd_header(h2o_req_t *req, const char *name);
/* 1 when the method equals `m` (e.g. "GET"). */
int httpd_method_is(const h2o_req_t *req, const char *m);

/* The reason phrase for a status ("Not Found"); never NULL. */
const char *httpd_reason(int status);

/* LeakSanitizer suppressions every httpd program needs: h2o keeps per-thread recycle pools
 * (h2o_mem_alloc_recycle) that it never frees at thread exit, and h2o_context_dispose
 * leaves the context's message queue allocated: known, bounded, not per-request leaks
 * (docs/c-notes.md §2). httpd.c returns them from a weak __lsan_default_suppressions. */
#define HTTPD_LSAN_SUPPRESSIONS "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n"

#endif
