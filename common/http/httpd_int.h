/* httpd_int.h — httpd's private types (the server, its loop threads, its routes) and what
 * httpd.c uses of httpd_loop.c (a loop thread's life) and httpd_loop.c of httpd_tls.c (the
 * TLS context and its reload). Calls go one way: httpd.c → httpd_loop.c → httpd_tls.c. */
#ifndef CQ_HTTPD_INT_H
#define CQ_HTTPD_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "httpd.h"

typedef struct httpd_tls httpd_tls_t;

#define HTTPD_DRAIN_GRACE_MS 100 /* see thread_main's drain */
#define HTTPD_MAX_ROUTES 64
#define HTTPD_MAX_THREADS 64

typedef struct httpd_route_ent {
    char *method; /* owned; NULL = any */
    char *prefix; /* owned */
    size_t plen;
    char *label; /* owned */
    int exact;   /* serves the prefix itself only (httpd_route_exact) */
    int below;   /* serves the paths below the prefix only (a "<prefix>/{name}" label) */
    httpd_handler_fn fn;
    void *ctx;
} httpd_route_ent_t;

typedef struct httpd_thread {
    httpd_t *srv;
    pthread_t tid;
    int started;
    int fd; /* dup of the listening fd; owned until the listener socket takes it */
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_receiver_t receiver;
    long nconn;       /* touched only on this thread */
    int paused;       /* the listener stopped reading at the connection cap */
    unsigned tls_gen; /* generation of accept_ctx.ssl_ctx (one reference owned) */
    sem_t ready;      /* posted by the thread once its loop, context and receiver exist */
} httpd_thread_t;

typedef struct httpd_handler {
    h2o_handler_t super;
    httpd_t *srv;
} httpd_handler_t;

struct httpd {
    httpd_opts_t o;
    h2o_globalconf_t cfg;
    int cfg_ready;
    httpd_route_ent_t routes[HTTPD_MAX_ROUTES];
    int nroutes;
    int listen_fd;
    int port;
    httpd_thread_t *th;
    int nth;
    httpd_tls_t *tls;  /* NULL: plain HTTP */
    atomic_long nconn; /* open connections of all threads */
    atomic_int capped; /* the cap was hit (logged once per episode) */
    atomic_int stopping;
    int started;
    int stopped;
    int keep_listener; /* httpd_keep_listener: httpd_stop leaves listen_fd open */
};

/* The loop thread's body (pthread start routine, `arg` the httpd_thread_t): makes its loop,
 * context, receiver and listener, posts t->ready, runs until s->stopping, then drains and
 * disposes. */
void *httpd_loop_main(void *arg);

/* Loads the certificate, key and client CA of `o` into a first SSL_CTX (checked: the key
 * matches the certificate). NULL with `err` filled when they cannot be used. `o` and `log`
 * are borrowed (their strings must outlive the result). */
httpd_tls_t *httpd_tls_new(const httpd_tls_opts_t *o, const clog_t *log, char *err, size_t errlen);

/* Starts the thread that polls the files and swaps in a new SSL_CTX when they change.
 * 0 or -1. */
int httpd_tls_start(httpd_tls_t *t);

/* On a loop thread, before accepting: when a newer SSL_CTX than *gen exists, releases
 * *ctx (may be NULL), stores a new reference to the current one in *ctx and its generation
 * in *gen. The caller owns one reference in *ctx (SSL_CTX_free at the end). */
void httpd_tls_refresh(httpd_tls_t *t, SSL_CTX **ctx, unsigned *gen);

/* Stops the reload thread and frees (connections keep their own SSL_CTX references).
 * NULL-safe. */
void httpd_tls_free(httpd_tls_t *t);

#endif
