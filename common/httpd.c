/* httpd.c — h2o 2.2.5 evloop server glue: listener, loop threads, routing, response
 * helpers and the graceful drain. See httpd.h for the contract.
 */
#include "httpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTPD_MAX_ROUTES 64
#define HTTPD_MAX_THREADS 64

typedef struct httpd_route_ent {
    char *method; /* owned; NULL = any */
    char *prefix; /* owned */
    size_t plen;
    char *label; /* owned */
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
    long nconn; /* touched only on this thread */
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
    atomic_int stopping;
    int started;
    int stopped;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *httpd_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* ---------------------------------------------------------------- responses */

int httpd_send(h2o_req_t *req, int status, const char *content_type, const void *body, size_t len)
{
    req->res.status = status;
    req->res.reason = httpd_reason(status);
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       h2o_strdup(&req->pool, content_type, SIZE_MAX).base, strlen(content_type));
    if (body == NULL || status == 304 || status == 204)
        len = 0;
    req->res.content_length = len;
    h2o_send_inline(req, len ? (const char *)body : "", len);
    return 0;
}

int httpd_send_json(h2o_req_t *req, int status, json_t *json)
{
    char *s = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (s == NULL)
        return httpd_send_problem(req, 500, "Internal Server Error", "response could not be encoded");
    httpd_send(req, status, "application/json", s, strlen(s));
    free(s);
    return 0;
}

int httpd_send_problem(h2o_req_t *req, int status, const char *title, const char *detail_fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type", "about:blank", "title",
                          title != NULL ? title : httpd_reason(status), "status", status, "detail", detail);
    char *s = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (s == NULL) {
        static const char fallback[] =
            "{\"type\":\"about:blank\",\"title\":\"Error\",\"status\":500,\"detail\":\"\"}";
        return httpd_send(req, status, "application/problem+json", fallback, sizeof(fallback) - 1);
    }
    httpd_send(req, status, "application/problem+json", s, strlen(s));
    free(s);
    return 0;
}

void httpd_add_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    char *n = h2o_mem_alloc_pool(&req->pool, nlen + 1);
    for (size_t i = 0; i < nlen; i++)
        n[i] = (char)h2o_tolower(name[i]);
    n[nlen] = '\0';
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n, nlen, 1, NULL, v.base, v.len);
}

/* ---------------------------------------------------------------- requests */

const char *httpd_path(h2o_req_t *req)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    return h2o_strdup(&req->pool, req->path.base, len).base;
}

const char *httpd_query(h2o_req_t *req)
{
    if (req->query_at == SIZE_MAX)
        return "";
    return h2o_strdup(&req->pool, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1).base;
}

const char *httpd_header(h2o_req_t *req, const char *name)
{
    size_t nlen = strlen(name);
    char lower[128];
    if (nlen >= sizeof(lower))
        return NULL;
    for (size_t i = 0; i < nlen; i++)
        lower[i] = (char)h2o_tolower(name[i]);
    ssize_t i = h2o_find_header_by_str(&req->headers, lower, nlen, -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = req->headers.entries[i].value;
    return h2o_strdup(&req->pool, v.base, v.len).base;
}

int httpd_method_is(const h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

/* ---------------------------------------------------------------- routing */

static int prefix_matches(const httpd_route_ent_t *r, const char *path, size_t len)
{
    if (r->plen == 1 && r->prefix[0] == '/')
        return 1;
    if (len < r->plen || memcmp(path, r->prefix, r->plen) != 0)
        return 0;
    return len == r->plen || path[r->plen] == '/' || path[r->plen] == '?';
}

static int method_matches(const httpd_route_ent_t *r, const h2o_req_t *req)
{
    if (r->method == NULL)
        return 1;
    if (httpd_method_is(req, r->method))
        return 1;
    return strcmp(r->method, "GET") == 0 && httpd_method_is(req, "HEAD");
}

static void send_405(httpd_t *s, h2o_req_t *req, size_t plen, const char *path, size_t len)
{
    char allow[256] = "";
    size_t used = 0;
    for (int i = 0; i < s->nroutes; i++) {
        const httpd_route_ent_t *r = &s->routes[i];
        if (r->plen != plen || !prefix_matches(r, path, len) || r->method == NULL)
            continue;
        int n = snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
        if (n < 0 || (size_t)n >= sizeof(allow) - used)
            break;
        used += (size_t)n;
    }
    httpd_add_header(req, "Allow", allow);
    httpd_send_problem(req, 405, "Method Not Allowed", "method %.*s is not allowed here; allowed: %s",
                       (int)req->method.len, req->method.base, allow);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    httpd_t *s = ((httpd_handler_t *)self)->srv;
    uint64_t t0 = now_us();
    const char *label = "unmatched";
    const char *path = req->path_normalized.base;
    size_t len = req->path_normalized.len;

    if (req->entity.base != NULL && req->entity.len > s->o.max_body) {
        httpd_send_problem(req, 413, "Payload Too Large",
                           "request body of %zu bytes exceeds the limit of %zu bytes", req->entity.len,
                           s->o.max_body);
        goto done;
    }
    const httpd_route_ent_t *best = NULL;
    size_t best_plen = 0;
    int prefix_seen = 0;
    for (int i = 0; i < s->nroutes; i++) {
        const httpd_route_ent_t *r = &s->routes[i];
        if (!prefix_matches(r, path, len))
            continue;
        if (r->plen > best_plen) {
            best_plen = r->plen;
            prefix_seen = 1;
            best = method_matches(r, req) ? r : NULL;
        } else if (r->plen == best_plen && best == NULL && method_matches(r, req)) {
            best = r;
        }
    }
    if (best == NULL) {
        if (prefix_seen)
            send_405(s, req, best_plen, path, len);
        else
            httpd_send_problem(req, 404, "Not Found", "no resource at %.*s", (int)(len > 200 ? 200 : len),
                               path);
        goto done;
    }
    label = best->label;
    if (best->fn(best->ctx, req) != 0 && req->res.status == 0)
        httpd_send_problem(req, 500, "Internal Server Error", "the request could not be handled");
    else if (req->res.status == 0)
        httpd_send_problem(req, 500, "Internal Server Error", "the handler sent no response");
done:
    if (s->o.observe != NULL)
        s->o.observe(s->o.observe_ctx, label, req, req->res.status, now_us() - t0);
    return 0;
}

int httpd_route(httpd_t *s, const char *method, const char *prefix, const char *label, httpd_handler_fn fn,
                void *ctx)
{
    if (s == NULL || s->started || s->nroutes >= HTTPD_MAX_ROUTES || prefix == NULL || prefix[0] != '/' ||
        fn == NULL)
        return -1;
    httpd_route_ent_t *r = &s->routes[s->nroutes];
    r->method = method != NULL ? strdup(method) : NULL;
    r->prefix = strdup(prefix);
    r->label = strdup(label != NULL ? label : prefix);
    if ((method != NULL && r->method == NULL) || r->prefix == NULL || r->label == NULL) {
        free(r->method);
        free(r->prefix);
        free(r->label);
        memset(r, 0, sizeof(*r));
        return -1;
    }
    r->plen = strlen(prefix);
    /* "/x/" and "/x" mean the same prefix */
    if (r->plen > 1 && r->prefix[r->plen - 1] == '/')
        r->prefix[--r->plen] = '\0';
    r->fn = fn;
    r->ctx = ctx;
    s->nroutes++;
    return 0;
}

/* ---------------------------------------------------------------- lifecycle */

httpd_t *httpd_new(const httpd_opts_t *opts, char *err, size_t errlen)
{
    httpd_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    s->o = *opts;
    if (s->o.host == NULL)
        s->o.host = "0.0.0.0";
    if (s->o.threads <= 0)
        s->o.threads = 1;
    if (s->o.threads > HTTPD_MAX_THREADS)
        s->o.threads = HTTPD_MAX_THREADS;
    if (s->o.max_body == 0)
        s->o.max_body = 1024 * 1024;
    if (s->o.drain_ms <= 0)
        s->o.drain_ms = 5000;
    if (s->o.idle_timeout_ms <= 0)
        s->o.idle_timeout_ms = 10000;
    s->listen_fd = -1;
    s->port = -1;
    atomic_init(&s->stopping, 0);

    h2o_config_init(&s->cfg);
    s->cfg_ready = 1;
    const char *sn = s->o.server_name != NULL ? s->o.server_name : "";
    s->cfg.server_name = h2o_iovec_init(sn, strlen(sn));
    /* h2o rejects huge bodies itself (plain 413); in between we answer problem+json */
    s->cfg.max_request_entity_size = s->o.max_body * 2 + 65536;
    s->cfg.http1.req_timeout = (uint64_t)s->o.idle_timeout_ms;
    s->cfg.http2.idle_timeout = (uint64_t)s->o.idle_timeout_ms;
    h2o_hostconf_t *host = h2o_config_register_host(&s->cfg, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    httpd_handler_t *h = (httpd_handler_t *)h2o_create_handler(pc, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = s;
    return s;
}

static void on_sock_close(void *data)
{
    httpd_thread_t *t = data;
    t->nconn--;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    httpd_thread_t *t = listener->data;
    if (err != NULL)
        return;
    for (int i = 0; i < 16; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            return;
        t->nconn++;
        sock->on_close.cb = on_sock_close;
        sock->on_close.data = t;
        h2o_accept(&t->accept_ctx, sock);
    }
}

static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    (void)messages; /* only NULL messages are ever sent: they just wake the loop */
}

static void unlink_all(h2o_timeout_t *to)
{
    while (!h2o_linklist_is_empty(&to->_entries)) {
        h2o_timeout_entry_t *e = H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link, to->_entries.next);
        h2o_timeout_unlink(e);
    }
}

/* Creates the loop, context, wake-up receiver and listener of one thread; runs on the
 * starting thread so httpd_stop can always message the receiver. */
static void thread_setup(httpd_thread_t *t)
{
    httpd_t *s = t->srv;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &s->cfg);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = s->cfg.hosts;
    h2o_multithread_register_receiver(t->ctx.queue, &t->receiver, on_wake);
    t->listener = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    t->fd = -1; /* owned by the socket now */
    t->listener->data = t;
    h2o_socket_read_start(t->listener, on_accept);
}

static void *thread_main(void *arg)
{
    httpd_thread_t *t = arg;
    httpd_t *s = t->srv;
    h2o_evloop_t *loop = t->ctx.loop;

    while (!atomic_load(&s->stopping))
        h2o_evloop_run(loop, INT32_MAX);

    /* drain: stop accepting, finish in-flight requests, close idle keep-alive conns */
    h2o_socket_read_stop(t->listener);
    h2o_evloop_run(loop, 0);
    h2o_socket_close(t->listener);
    t->listener = NULL;
    h2o_context_request_shutdown(&t->ctx);
    /* HTTP/1 in 2.2.5 does not close idle connections on shutdown: expire them now */
    t->ctx.http1.req_timeout.timeout = 0;
    uint64_t deadline = h2o_now(loop) + (uint64_t)s->o.drain_ms;
    while (t->nconn > 0 && h2o_now(loop) < deadline)
        h2o_evloop_run(loop, 10);
    if (t->nconn > 0 && s->o.log != NULL)
        clog_warn(s->o.log, "httpd: %ld connection(s) still open after the %d ms drain deadline", t->nconn,
                  s->o.drain_ms);
    /* let pending closes and zero-timeouts run before the timeouts are disposed */
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(loop, 1);
    /* h2o keeps a periodic entry on one_sec_timeout; dispose asserts the lists are empty */
    unlink_all(&t->ctx.one_sec_timeout);
    unlink_all(&t->ctx.zero_timeout);
    unlink_all(&t->ctx.hundred_ms_timeout);
    h2o_multithread_unregister_receiver(t->ctx.queue, &t->receiver);
    h2o_context_dispose(&t->ctx); /* 2.2.5 leaves the queue allocated (destroying it crashes) */
    if (t->nconn == 0)
        h2o_evloop_destroy(loop);
    return NULL;
}

static int open_listener(httpd_t *s, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char port[16];
    int fd = -1, rc = -1;
    snprintf(port, sizeof(port), "%d", s->o.port);
    int gai = getaddrinfo(s->o.host, port, &hints, &res);
    if (gai != 0) {
        set_err(err, errlen, "cannot resolve %s: %s", s->o.host, gai_strerror(gai));
        goto cleanup;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        set_err(err, errlen, "socket: %s", strerror(errno));
        goto cleanup;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        set_err(err, errlen, "cannot bind %s:%d: %s", s->o.host, s->o.port, strerror(errno));
        goto cleanup;
    }
    if (listen(fd, SOMAXCONN) != 0) {
        set_err(err, errlen, "listen: %s", strerror(errno));
        goto cleanup;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        set_err(err, errlen, "getsockname: %s", strerror(errno));
        goto cleanup;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    s->listen_fd = fd;
    fd = -1;
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

int httpd_start(httpd_t *s, char *err, size_t errlen)
{
    if (s == NULL || s->started) {
        set_err(err, errlen, "server already started");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write must not kill the process */
    if (open_listener(s, err, errlen) != 0)
        return -1;
    s->th = calloc((size_t)s->o.threads, sizeof(*s->th));
    if (s->th == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    s->started = 1;
    for (int i = 0; i < s->o.threads; i++) {
        httpd_thread_t *t = &s->th[i];
        t->srv = s;
        t->fd = dup(s->listen_fd);
        if (t->fd < 0) {
            set_err(err, errlen, "dup: %s", strerror(errno));
            httpd_stop(s);
            return -1;
        }
        thread_setup(t);
        if (pthread_create(&t->tid, NULL, thread_main, t) != 0) {
            set_err(err, errlen, "cannot start loop thread %d", i);
            httpd_stop(s);
            return -1;
        }
        t->started = 1;
        s->nth = i + 1;
    }
    if (s->o.log != NULL)
        clog_info(s->o.log, "httpd: listening on %s:%d with %d thread(s)", s->o.host, s->port, s->o.threads);
    return 0;
}

int httpd_port(const httpd_t *s)
{
    return s != NULL ? s->port : -1;
}

void httpd_stop(httpd_t *s)
{
    if (s == NULL || !s->started || s->stopped)
        return;
    atomic_store(&s->stopping, 1);
    for (int i = 0; i < s->nth; i++)
        if (s->th[i].started)
            h2o_multithread_send_message(&s->th[i].receiver, NULL);
    for (int i = 0; i < s->nth; i++)
        if (s->th[i].started)
            pthread_join(s->th[i].tid, NULL);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    s->stopped = 1;
    if (s->o.log != NULL)
        clog_info(s->o.log, "httpd: stopped");
}

void httpd_free(httpd_t *s)
{
    if (s == NULL)
        return;
    httpd_stop(s);
    for (int i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].prefix);
        free(s->routes[i].label);
    }
    if (s->cfg_ready)
        h2o_config_dispose(&s->cfg);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    free(s->th);
    free(s);
}

/* ---------------------------------------------------------------- sanitizer */

/* h2o keeps per-thread recycle pools (h2o_mem_alloc_recycle) that it never frees at
 * thread exit, and h2o_context_dispose leaves the context's message queue allocated:
 * known, bounded, not per-request leaks (c-stack-facts §2). LeakSanitizer
 * reads this hook in every program that links httpd. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}

/* ---------------------------------------------------------------- signals */

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int httpd_block_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

int httpd_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    stop_signals(&set);
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}

int httpd_run_until_signal(httpd_t *s)
{
    int sig = httpd_wait_signal();
    if (s != NULL && s->o.log != NULL)
        clog_info(s->o.log, "httpd: signal %d received, draining", sig);
    httpd_stop(s);
    return sig;
}
