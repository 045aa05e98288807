/* httpd.c — h2o 2.2.5 evloop server glue: the server object, routing, the listener, start
 * and stop. See httpd.h for the contract; each loop thread's life (accept, the connection
 * cap, the graceful drain) is httpd_loop.c, the request and response helpers the handlers
 * call are httpd_msg.c, TLS is httpd_tls.c, the stop signals httpd_sig.c.
 */
#include "httpd_int.h"

#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------------------------------------------------------------- routing */

/* Whether route r serves `path`: its prefix and what lies below it; only the prefix itself for
 * an exact route (httpd_route_exact); only what lies below it for a template label
 * ("/orders/{trackingId}"). */
static int prefix_matches(const httpd_route_ent_t *r, const char *path, size_t len)
{
    if (r->plen == 1 && r->prefix[0] == '/')
        return 1;
    if (len < r->plen || memcmp(path, r->prefix, r->plen) != 0)
        return 0;
    int at = len == r->plen || path[r->plen] == '?';
    int below = !at && path[r->plen] == '/' && r->plen + 1 < len && path[r->plen + 1] != '?';
    if (r->exact)
        return at;
    if (r->below)
        return below;
    return at || path[r->plen] == '/';
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
        /* the path as sent (percent-encoded), not h2o's decoded one */
        size_t rawlen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
        if (prefix_seen)
            send_405(s, req, best_plen, path, len);
        else
            httpd_send_problem(req, 404, "Not Found", "no resource at %.*s",
                               (int)(rawlen > 200 ? 200 : rawlen), req->path.base);
        goto done;
    }
    label = best->label;
    trc_span_t span;
    if (s->o.tracer != NULL) {
        trc_ctx_t parent;
        char name[sizeof span.name];
        ssize_t hi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
        int have = hi >= 0 && trc_parse(req->headers.entries[hi].value.base,
                                        req->headers.entries[hi].value.len, &parent) == 0;
        snprintf(name, sizeof name, "%.*s %s", (int)(req->method.len > 10 ? 10 : req->method.len),
                 req->method.base, label);
        trc_span_start(&span, name, TRC_SERVER, have ? &parent : NULL);
        trc_set_current(&span.ctx);
    }
    int hrc = best->fn(best->ctx, req);
    if (hrc == HTTPD_LATER && req->res.status == 0) {
        if (s->o.tracer != NULL)
            trc_set_current(NULL); /* a held request's span is not exported */
        return 0;                  /* held: the handler answers later */
    }
    if (hrc != 0 && req->res.status == 0)
        httpd_send_problem(req, 500, "Internal Server Error", "the request could not be handled");
    else if (req->res.status == 0)
        httpd_send_problem(req, 500, "Internal Server Error", "the handler sent no response");
    if (s->o.tracer != NULL) {
        char st[16], method[16];
        snprintf(st, sizeof st, "%d", req->res.status);
        snprintf(method, sizeof method, "%.*s", (int)(req->method.len > 15 ? 15 : req->method.len),
                 req->method.base);
        trc_span_attr(&span, "http.request.method", method);
        trc_span_attr(&span, "http.route", label);
        trc_span_attr(&span, "http.response.status_code", st);
        span.error = req->res.status >= 500;
        clog_debug(s->o.log, "%s %s answered %d in %.3f ms", method, label, req->res.status,
                   (double)(now_us() - t0) / 1000.0);
        trc_span_end(&span, s->o.tracer);
        trc_set_current(NULL);
    }
done:
    if (s->o.observe != NULL)
        s->o.observe(s->o.observe_ctx, label, req, req->res.status, now_us() - t0);
    return 0;
}

static int route_add(httpd_t *s, const char *method, const char *prefix, const char *label, int exact,
                     httpd_handler_fn fn, void *ctx)
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
    r->exact = exact;
    /* a template label "<prefix>/{name}" serves the paths below the prefix only */
    r->below = !exact && strncmp(r->label, r->prefix, r->plen) == 0 && r->label[r->plen] == '/' &&
               r->label[r->plen + 1] == '{' && r->label[strlen(r->label) - 1] == '}';
    r->fn = fn;
    r->ctx = ctx;
    s->nroutes++;
    return 0;
}

int httpd_route(httpd_t *s, const char *method, const char *prefix, const char *label, httpd_handler_fn fn,
                void *ctx)
{
    return route_add(s, method, prefix, label, 0, fn, ctx);
}

int httpd_route_exact(httpd_t *s, const char *method, const char *path, const char *label,
                      httpd_handler_fn fn, void *ctx)
{
    return route_add(s, method, path, label, 1, fn, ctx);
}

/* ---------------------------------------------------------------- lifecycle */

/* The connection cap: `want` (0 → the default), at most the open-file limit less a reserve
 * for the process's own files (database, Kafka, logs), so accept() never runs out of fds. */
static int httpd_conn_cap(int want, const clog_t *log)
{
    struct rlimit rl;
    long cap = want > 0 ? want : HTTPD_DEFAULT_MAX_CONNECTIONS;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long lim = (long)rl.rlim_cur - 128;
        if (lim < 16)
            lim = 16;
        if (cap > lim) {
            if (want > 0 && log != NULL)
                clog_warn(log, "httpd: max connections %d lowered to %ld (open-file limit %ld)", want, lim,
                          (long)rl.rlim_cur);
            cap = lim;
        }
    }
    return (int)cap;
}

httpd_t *httpd_new(const httpd_opts_t *opts, char *err, size_t errlen)
{
    httpd_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        errbuf_set(err, errlen, "out of memory");
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
    s->o.max_connections = httpd_conn_cap(s->o.max_connections, s->o.log);
    s->listen_fd = -1;
    atomic_init(&s->nconn, 0);
    atomic_init(&s->capped, 0);
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
    /* no cleartext HTTP/2: "Upgrade: h2c" is answered as plain HTTP/1.1 */
    s->cfg.http1.upgrade_to_http2 = 0;
    if (s->o.tls.cert_file != NULL && s->o.tls.cert_file[0] != '\0') {
        s->tls = httpd_tls_new(&s->o.tls, s->o.log, err, errlen);
        if (s->tls == NULL) {
            httpd_free(s);
            return NULL;
        }
    }
    h2o_hostconf_t *host = h2o_config_register_host(&s->cfg, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    httpd_handler_t *h = (httpd_handler_t *)h2o_create_handler(pc, sizeof(*h));
    h->super.on_req = on_req;
    h->srv = s;
    return s;
}

/* Takes over opts.adopt_fd: it must be a listening TCP socket; made non-blocking and
 * close-on-exec. */
static int adopt_listener(httpd_t *s, char *err, size_t errlen)
{
    int fd = s->o.adopt_fd, type = 0, acc = 0;
    socklen_t l1 = sizeof type, l2 = sizeof acc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    s->o.adopt_fd = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l1) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l2) != 0 || type != SOCK_STREAM || !acc ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
        errbuf_set(err, errlen, "inherited fd %d is not a listening TCP socket", fd);
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        errbuf_set(err, errlen, "inherited fd %d: fcntl: %s", fd, strerror(errno));
        close(fd);
        return -1;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    s->listen_fd = fd;
    return 0;
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
        errbuf_set(err, errlen, "cannot resolve %s: %s", s->o.host, gai_strerror(gai));
        goto cleanup;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        errbuf_set(err, errlen, "socket: %s", strerror(errno));
        goto cleanup;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        errbuf_set(err, errlen, "cannot bind %s:%d: %s", s->o.host, s->o.port, strerror(errno));
        goto cleanup;
    }
    if (listen(fd, SOMAXCONN) != 0) {
        errbuf_set(err, errlen, "listen: %s", strerror(errno));
        goto cleanup;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        errbuf_set(err, errlen, "getsockname: %s", strerror(errno));
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
        errbuf_set(err, errlen, "server already started");
        return -1;
    }
    int adopted = s->o.adopt_fd > 0;
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write must not kill the process */
    if ((s->o.adopt_fd > 0 ? adopt_listener(s, err, errlen) : open_listener(s, err, errlen)) != 0)
        return -1;
    s->th = calloc((size_t)s->o.threads, sizeof(*s->th));
    if (s->th == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    s->started = 1;
    if (s->tls != NULL && httpd_tls_start(s->tls) != 0 && s->o.log != NULL)
        clog_warn(s->o.log, "httpd: cannot start the TLS reload thread; certificate changes need a restart");
    for (int i = 0; i < s->o.threads; i++) {
        httpd_thread_t *t = &s->th[i];
        t->srv = s;
        t->fd = dup(s->listen_fd);
        if (t->fd < 0) {
            errbuf_set(err, errlen, "dup: %s", strerror(errno));
            httpd_stop(s);
            return -1;
        }
        if (sem_init(&t->ready, 0, 0) != 0 || pthread_create(&t->tid, NULL, httpd_loop_main, t) != 0) {
            errbuf_set(err, errlen, "cannot start loop thread %d", i);
            close(t->fd);
            t->fd = -1;
            httpd_stop(s);
            return -1;
        }
        while (sem_wait(&t->ready) != 0 && errno == EINTR)
            ;
        sem_destroy(&t->ready);
        t->started = 1;
        s->nth = i + 1;
    }
    if (s->o.log != NULL)
        clog_info(s->o.log, "httpd: listening on %s:%d with %d thread(s), %s, at most %d connections%s",
                  s->o.host, s->port, s->o.threads, s->tls != NULL ? "TLS" : "plain HTTP",
                  s->o.max_connections, adopted ? " (socket inherited from the previous image)" : "");
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
    if (s->listen_fd >= 0 && !s->keep_listener)
        close(s->listen_fd);
    s->listen_fd = -1;
    s->stopped = 1;
    if (s->o.log != NULL)
        clog_info(s->o.log, "httpd: stopped");
}

int httpd_keep_listener(httpd_t *s)
{
    if (s == NULL || !s->started || s->stopped || s->listen_fd < 0)
        return -1;
    s->keep_listener = 1;
    return s->listen_fd;
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
    if (!s->started && s->o.adopt_fd > 0)
        close(s->o.adopt_fd);
    httpd_tls_free(s->tls);
    free(s->th);
    free(s);
}

/* ---------------------------------------------------------------- sanitizer */

/* LeakSanitizer reads this hook in every program that links httpd (HTTPD_LSAN_SUPPRESSIONS
 * in httpd.h says why). Weak: a program with leaks of its own libraries to name defines
 * its own, starting with HTTPD_LSAN_SUPPRESSIONS (config-server: libgit2's). */
const char *__lsan_default_suppressions(void) __attribute__((weak));
const char *__lsan_default_suppressions(void)
{
    return HTTPD_LSAN_SUPPRESSIONS;
}

/* ---------------------------------------------------------------- signals (httpd_sig.c) */

int httpd_run_until_signal(httpd_t *s)
{
    int sig = httpd_wait_signal();
    if (s != NULL && s->o.log != NULL)
        clog_info(s->o.log, "httpd: signal %d received, draining", sig);
    httpd_stop(s);
    return sig;
}
