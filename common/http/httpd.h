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
 * httpd_stop stops accepting, lets in-flight requests finish, serves for 100 ms more the
 * requests already on their way (on just-accepted or idle keep-alive connections; answered
 * with Connection: close), closes idle keep-alive connections, waits up to `drain_ms` for
 * the connections to go, joins the threads.
 *
 * TLS (httpd_tls.c): with opts.tls.cert_file set the listener speaks TLS 1.2+ only (a
 * modern cipher list, HTTP/1.1; no HTTP/2), optionally asking for client certificates
 * (tls.client_ca_file, client_auth WANT or NEED: a certificate that fails verification
 * refuses the handshake). The three files are polled every tls.reload_interval_ms: when one
 * changes (cert-manager rotating a Secret) a new SSL_CTX is built and used for the next
 * connections; connections already open keep theirs. A rotation that cannot be loaded is
 * logged and the previous certificate stays in use.
 *
 * Hardening: HTTP/1 "Upgrade: h2c" is ignored (no cleartext HTTP/2); at most
 * opts.max_connections are open at once: beyond it the listener stops accepting (new
 * connections wait in the kernel's backlog) until one closes; open ones are not disturbed.
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
#include "trc.h"

typedef struct httpd httpd_t;

/* A route handler. `ctx` is the pointer given at registration (borrowed). Must answer
 * (httpd_send*) and return 0; returning -1 without answering makes httpd answer 500.
 * Returning HTTPD_LATER (without answering) means the handler took the request over: it
 * answers it later with httpd_send* on the same loop thread (a long poll). h2o keeps the
 * request until then; state kept for it belongs in h2o_mem_alloc_shared(&req->pool, size,
 * dispose), whose dispose runs on that thread when the request ends — answered, or its
 * connection gone. The observe hook is not called for such a request. */
typedef int (*httpd_handler_fn)(void *ctx, h2o_req_t *req);
#define HTTPD_LATER 1

/* Loop-thread hook (opts.loop_hook), called on each loop thread with its h2o context:
 * HTTPD_LOOP_START before its first request, HTTPD_LOOP_DRAIN when httpd_stop began (the
 * listener is closed, answers now carry Connection: close: answer the requests held with
 * HTTPD_LATER, hold no new ones), HTTPD_LOOP_STOP after the drain, before the context is
 * disposed (undo what START did). A handler finds its thread's context as req->conn->ctx;
 * other threads reach it through h2o_multithread_* on hctx->queue. */
typedef enum { HTTPD_LOOP_START, HTTPD_LOOP_DRAIN, HTTPD_LOOP_STOP } httpd_loop_phase_t;
typedef void (*httpd_loop_fn)(void *ctx, h2o_context_t *hctx, httpd_loop_phase_t phase);

/* Called once per request after its handler returned, on the loop thread: `route` is the
 * label given at registration ("unmatched" for 404/405), `status` the response status,
 * `duration_us` the time spent from dispatch to the handler's return. */
typedef void (*httpd_observe_fn)(void *ctx, const char *route, const h2o_req_t *req, int status,
                                 uint64_t duration_us);

/* Client-certificate authentication (Spring's server.ssl.client-auth: none, want, need). */
typedef enum {
    HTTPD_CLIENT_AUTH_NONE = 0,
    HTTPD_CLIENT_AUTH_WANT = 1,
    HTTPD_CLIENT_AUTH_NEED = 2
} httpd_client_auth_t;

typedef struct httpd_tls_opts {
    const char *cert_file;      /* PEM certificate (chain); NULL or "" → plain HTTP */
    const char *key_file;       /* PEM private key (required with cert_file) */
    const char *client_ca_file; /* PEM CA bundle that signs client certificates (WANT/NEED) */
    httpd_client_auth_t client_auth;
    int reload_interval_ms; /* how often the files are checked for a change; 0 → 5000 */
} httpd_tls_opts_t;

/* Default connection cap (httpd_opts.max_connections 0); lowered to the process's open-file
 * limit minus a reserve, so accept() never fails with EMFILE (h2o would spin on it). */
#define HTTPD_DEFAULT_MAX_CONNECTIONS 10000

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
    int adopt_fd;            /* > 0: serve this already-listening TCP socket (one a previous image of the
                                process kept open across exec, httpd_keep_listener) instead of binding
                                host:port. Owned by the server: httpd_start adopts it (or closes it when
                                it is no listening TCP socket), httpd_free closes it if never started */
    int max_connections;     /* open connections at once; 0 → HTTPD_DEFAULT_MAX_CONNECTIONS */
    httpd_tls_opts_t tls;    /* all zero → plain HTTP */
    httpd_loop_fn loop_hook; /* optional loop-thread hook (long polls) */
    void *loop_ctx;
    const trc_sink_t *tracer; /* non-NULL: each routed request is a SERVER span "<METHOD> <label>" that
                                 continues the request's W3C traceparent (or starts a trace); it is
                                 the loop thread's current span while the handler runs (trc_current:
                                 the handler reads it, every log line carries it) and goes to the
                                 sink (emit may be NULL: logs only) when the handler returned;
                                 a request held for later (HTTPD_LATER) exports no span */
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
/* A route serves its prefix and the paths below it, except: one made by httpd_route_exact
 * serves `path` itself only, and one whose label is a template "<prefix>/{name}" serves only
 * the paths below its prefix. So "/orders" POST (exact) and "/orders/{trackingId}" GET answer
 * GET /orders and POST /orders/1 with 405 and the one method that path has in Allow. */
int httpd_route_exact(httpd_t *s, const char *method, const char *path, const char *label,
                      httpd_handler_fn fn, void *ctx);

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
/* The value of query parameter `name` (the first one), percent-decoded ('+' is a space), into
 * out[outlen]. 1 found, 0 absent, -1 malformed (a bad %xx, a NUL, or longer than outlen-1). */
int httpd_query_get(h2o_req_t *req, const char *name, char *out, size_t outlen);
/* The value of request header `name` (case-insensitive) as pool memory, or NULL. */
const char *httpd_header(h2o_req_t *req, const char *name);
/* 1 when the method equals `m` (e.g. "GET"). */
int httpd_method_is(const h2o_req_t *req, const char *m);

/* 1 when `content_type` (a Content-Type header value, parameters allowed) names JSON:
 * application/json or a structured-syntax application/…+json (RFC 6839). NULL → 0. Not
 * application/jsonx, json5, json-seq. */
int httpd_content_type_is_json(const char *content_type);

/* ---- TLS peer (httpd_tls.c) ---- */

/* 1 when the request came over TLS. */
int httpd_is_tls(h2o_req_t *req);
/* The subject CN of the verified client certificate of the request's connection into `cn`
 * (NUL-terminated, truncated to cnlen); returns 1. Returns 0 with cn "" when the connection
 * is plain HTTP, no certificate was presented or client auth is off. A certificate that
 * fails verification never gets here (its handshake is refused). */
int httpd_client_cert_cn(h2o_req_t *req, char *cn, size_t cnlen);
/* 1 when the verified client certificate has a subjectAltName DNS name (compared without
 * case) or URI (exact) equal to `name`; else 0. */
int httpd_client_cert_has_san(h2o_req_t *req, const char *name);

/* Parses "none", "want", "need" (any case; "" → none) into *out: 0, or -1. */
int httpd_client_auth_parse(const char *s, httpd_client_auth_t *out);

/* Fills o->tls and o->max_connections from the environment, each variable named `prefix`
 * + SSL_CERTIFICATE, SSL_CERTIFICATE_PRIVATE_KEY, SSL_TRUST_CERTIFICATE, SSL_CLIENT_AUTH
 * (none|want|need), SSL_RELOAD_INTERVAL_MS, MAX_CONNECTIONS (e.g. prefix "CONFIG_SERVER_").
 * Strings are borrowed from the environment. 0, or -1 with err naming the variable. */
int httpd_opts_from_env(httpd_opts_t *o, const char *prefix, char *err, size_t errlen);

/* The reason phrase for a status ("Not Found"); never NULL. */
const char *httpd_reason(int status);

/* LeakSanitizer suppressions every httpd program needs: h2o keeps per-thread recycle pools
 * (h2o_mem_alloc_recycle) that it never frees at thread exit, and h2o_context_dispose
 * leaves the context's message queue allocated: known, bounded, not per-request leaks
 * (docs/c-notes.md §2). httpd.c returns them from a weak __lsan_default_suppressions. */
#define HTTPD_LSAN_SUPPRESSIONS "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n"

#endif
